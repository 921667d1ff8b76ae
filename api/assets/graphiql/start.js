// Starts GraphiQL against this server: queries and mutations over POST /graphql,
// subscriptions over a WebSocket on /graphql (graphql-transport-ws, which GraphiQL's bundled
// graphql-ws client speaks). GraphiQL sends the headers editor's contents as the socket's
// connection_init payload, which is where the server reads the token.
(function () {
  const INTROSPECTION = `
    query IntrospectionQuery {
      __schema {
        queryType { name }
        mutationType { name }
        subscriptionType { name }
        types { ...FullType }
        directives { name description isRepeatable locations args { ...InputValue } }
      }
    }
    fragment FullType on __Type {
      kind name description specifiedByURL
      fields(includeDeprecated: true) {
        name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
      }
      inputFields { ...InputValue }
      interfaces { ...TypeRef }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ...TypeRef }
    }
    fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
    fragment TypeRef on __Type {
      kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
    }
  `;
  // A link may carry a token in its fragment (`/graphql#token=…`, as `quorum demo` prints:
  // the fragment never reaches a server or its logs); it is taken off the address bar at once.
  // Otherwise the pipeline board's, which it keeps in this tab's sessionStorage under this key.
  const linked = new URLSearchParams(location.hash.slice(1)).get('token');
  if (linked) history.replaceState(null, '', location.pathname + location.search);
  const token = linked || sessionStorage.getItem('quorum.token');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const plain = GraphiQL.createFetcher({ url: '/graphql' });
  const fetcher = GraphiQL.createFetcher({
    url: '/graphql',
    subscriptionUrl: `${scheme}//${location.host}/graphql`,
    // GraphiQL's own introspection query nests nine `ofType`s, deeper than the server allows
    // (QUORUM_MAX_DEPTH, 12 by default); ours nests four, enough for `[String!]!`.
    schemaFetcher: (params, opts) => plain({ ...params, query: INTROSPECTION }, opts),
  });
  const props = {
    fetcher,
    defaultQuery: [
      '# Quorum GraphiQL. Log in on the pipeline board (/) in this tab, or open a link with',
      '# #token=…, and the headers editor below holds your token; or paste',
      '# {"Authorization": "Bearer …"} there.',
      '',
      'query Me {',
      '  me { email name role }',
      '}',
      '',
    ].join('\n'),
  };
  if (token) {
    props.headers = JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2);
    props.defaultEditorToolsVisibility = 'headers';
  }
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, props),
  );
})();
