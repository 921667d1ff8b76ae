// Every GraphQL operation the pipeline board sends, in one place: the reference client for
// front-end teams. Each is named (it shows up under that name in server logs and GraphiQL's
// history) and asks only for what the board draws. See api/schema.graphql for every field.

// What the board shows of an assignment, wherever one appears (list, feed, mutation results).
const ASSIGNMENT_FIELDS = `
  fragment AssignmentFields on Assignment {
    id
    status
    assignedAt
    dueAt
    acceptedAt
    firstTouchAt
    firstTouchChannel
    rule
    rep { id name email }
    account { id name domain tier }
  }
`;

// Trades an e-mail and password for a bearer token. A wrong e-mail and a wrong password get
// the same answer (UNAUTHENTICATED), and repeated failures are answered more slowly.
export const LOGIN = `
  mutation BoardLogin($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      token
      expiresAt
      user { id email name role }
    }
  }
`;

// Checks a saved token on page load: UNAUTHENTICATED means it expired or was revoked.
export const ME = `
  query BoardMe {
    me { id email name role }
  }
`;

// The workspace's segments (saved account filters) for the segment picker.
export const SEGMENTS = `
  query BoardSegments {
    segments { id name accountCount }
  }
`;

// The top accounts, best score first: of one segment with $segmentId, of the whole
// workspace without. `score.breakdown` lists the contributions that add up to each number,
// so a rep can see why an account ranks where it does.
export const TOP_ACCOUNTS = `
  query BoardTopAccounts($segmentId: ID, $first: Int!) {
    accounts(
      segmentId: $segmentId
      orderBy: { field: SCORE, direction: DESC }
      first: $first
    ) {
      totalCount
      nodes {
        id
        name
        domain
        stage
        tier
        owner { name }
        score {
          total
          fit
          engagement
          intent
          committeeCoverage
          modelVersion
          computedAt
          breakdown { component source points detail }
        }
      }
    }
  }
`;

// The viewer's open assignments when the board starts (a rep sees only their own; managers
// and admins everyone's). Live changes then come from ASSIGNMENT_UPDATES.
export const OPEN_ASSIGNMENTS = `
  query BoardOpenAssignments($first: Int!) {
    assignments(status: [PENDING, ACCEPTED, WORKING, SLA_BREACHED], first: $first) {
      nodes { ...AssignmentFields }
    }
  }
  ${ASSIGNMENT_FIELDS}
`;

// The assigned rep takes the account on (PENDING or SLA_BREACHED → ACCEPTED).
export const ACCEPT_ASSIGNMENT = `
  mutation BoardAcceptAssignment($id: ID!) {
    acceptAssignment(id: $id) { ...AssignmentFields }
  }
  ${ASSIGNMENT_FIELDS}
`;

// The assigned rep reached out for the first time; the SLA is met if this comes before dueAt.
export const RECORD_FIRST_TOUCH = `
  mutation BoardRecordFirstTouch($assignmentId: ID!, $channel: String!) {
    recordFirstTouch(assignmentId: $assignmentId, channel: $channel) { ...AssignmentFields }
  }
  ${ASSIGNMENT_FIELDS}
`;

// Live (over WebSocket): every account promoted to SQL in the workspace. Pass the last
// `cursor` received as $after when reconnecting: the server replays what was missed first.
export const SQL_PROMOTIONS = `
  subscription BoardSqlPromotions($after: String) {
    sqlPromotions(after: $after) {
      cursor
      at
      account { id name domain }
      score { total }
      assignment { id rep { name } }
    }
  }
`;

// Live: changes to the viewer's assignments (ASSIGNED, ACCEPTED, FIRST_TOUCH, SLA_BREACHED,
// REASSIGNED, CLOSED), each with the assignment as it stands now. Resumable like the above.
export const ASSIGNMENT_UPDATES = `
  subscription BoardAssignmentUpdates($after: String) {
    assignmentUpdates(after: $after) {
      cursor
      kind
      at
      assignment { ...AssignmentFields }
    }
  }
  ${ASSIGNMENT_FIELDS}
`;
