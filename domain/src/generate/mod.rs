//! A realistic, deterministic synthetic workspace for the demo, the benchmarks and tests:
//! accounts with plausible firmographics and technologies, contacts with titles, seniorities
//! and buying roles, and an engagement history whose intensity follows each account's hidden
//! interest, so a few accounts surge while most stay quiet, as in a real funnel.
//!
//! The same [`Spec`] gives the same population and events on every machine and release: the
//! generator draws from its own SplitMix64 stream rather than a library's, whose sequences may
//! change between versions.

#[cfg(test)]
mod tests;

use crate::value::{BuyingRole, EngagementKind, MILLIS_PER_DAY, Seniority, Timestamp};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec {
    pub accounts: usize,
    pub seed: u64,
    /// The end of the history: events fall in the `days` before it.
    pub now: Timestamp,
    pub days: u32,
    /// How many events the history holds.
    pub events: usize,
}

impl Spec {
    /// `accounts` accounts and 90 days of history, about 10 events per contact.
    pub fn new(accounts: usize, seed: u64, now: Timestamp) -> Self {
        Self {
            accounts,
            seed,
            now,
            days: 90,
            events: accounts * 60,
        }
    }
}

/// A small, fast, well-mixed PRNG (SplitMix64): reproducible from its seed forever.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One of `items`, each as likely as its weight.
    pub fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut at = self.unit() * f64::from(total);
        for (item, w) in items {
            at -= f64::from(*w);
            if at < 0.0 {
                return item;
            }
        }
        &items[items.len() - 1].0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub name: String,
    pub domain: String,
    pub industry: &'static str,
    pub employee_count: i64,
    pub annual_revenue: f64,
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    pub region: &'static str,
    pub technologies: Vec<&'static str>,
    /// How interested the company is, 0 to 1: it drives how much its people engage. Most
    /// accounts are near 0, a few near 1.
    pub interest: f64,
    /// Its contacts are `contacts[first_contact .. first_contact + contact_count]`.
    pub first_contact: usize,
    pub contact_count: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub email: String,
    pub name: String,
    pub title: String,
    pub seniority: Seniority,
    pub department: &'static str,
    /// Index into `Population::accounts`.
    pub account: usize,
    /// Their part in the buying committee, if any.
    pub role: Option<BuyingRole>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    pub accounts: Vec<Account>,
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `g<seed>-<n>`: stable, so a regenerated history re-imports as duplicates.
    pub id: String,
    /// Index into `Population::contacts`; `None` for an account-level `INTENT_SURGE`.
    pub contact: Option<usize>,
    pub account: usize,
    pub kind: EngagementKind,
    pub at: Timestamp,
}

const INDUSTRIES: &[(&str, u32)] = &[
    ("Software", 22),
    ("Fintech", 12),
    ("Healthcare", 10),
    ("Manufacturing", 10),
    ("Retail", 8),
    ("Insurance", 6),
    ("Logistics", 6),
    ("Media", 6),
    ("Education", 5),
    ("Energy", 5),
    ("Telecommunications", 5),
    ("Biotech", 5),
];

/// (country, region, weight)
const COUNTRIES: &[((&str, &str), u32)] = &[
    (("US", "North America"), 40),
    (("CA", "North America"), 6),
    (("GB", "EMEA"), 10),
    (("DE", "EMEA"), 9),
    (("FR", "EMEA"), 6),
    (("NL", "EMEA"), 4),
    (("SE", "EMEA"), 3),
    (("ES", "EMEA"), 3),
    (("IE", "EMEA"), 2),
    (("AU", "APAC"), 4),
    (("IN", "APAC"), 5),
    (("JP", "APAC"), 3),
    (("SG", "APAC"), 3),
    (("BR", "LATAM"), 4),
    (("MX", "LATAM"), 2),
];

/// Head-count bands (low, high, weight): most companies are small.
const SIZES: &[((i64, i64), u32)] = &[
    ((10, 50), 30),
    ((51, 200), 30),
    ((201, 1_000), 22),
    ((1_001, 5_000), 12),
    ((5_001, 50_000), 6),
];

/// Technologies, and how much more likely each is in some industries.
const TECHNOLOGIES: &[(&str, f64, &[&str])] = &[
    ("Salesforce", 0.45, &["Software", "Fintech", "Insurance"]),
    ("HubSpot", 0.25, &["Software", "Media", "Education"]),
    ("Marketo", 0.12, &["Software", "Healthcare"]),
    ("Snowflake", 0.18, &["Fintech", "Software", "Retail"]),
    ("AWS", 0.5, &["Software", "Fintech", "Media"]),
    ("Azure", 0.3, &["Manufacturing", "Healthcare", "Energy"]),
    ("Google Cloud", 0.15, &["Retail", "Media"]),
    ("SAP", 0.2, &["Manufacturing", "Logistics", "Energy"]),
    ("Oracle", 0.15, &["Insurance", "Telecommunications"]),
    ("Workday", 0.15, &["Healthcare", "Education"]),
    ("Stripe", 0.2, &["Fintech", "Retail", "Software"]),
    ("Shopify", 0.1, &["Retail"]),
    (
        "Zendesk",
        0.15,
        &["Software", "Retail", "Telecommunications"],
    ),
    ("Slack", 0.4, &["Software", "Media", "Fintech"]),
    (
        "Kubernetes",
        0.2,
        &["Software", "Fintech", "Telecommunications"],
    ),
    ("Databricks", 0.08, &["Fintech", "Biotech", "Energy"]),
    ("6sense", 0.05, &["Software"]),
    ("Outreach", 0.08, &["Software", "Fintech"]),
];

const PREFIXES: &[&str] = &[
    "Blue", "North", "Silver", "Bright", "Iron", "Clear", "Swift", "Red", "Green", "Summit",
    "Nova", "Terra", "Cedar", "Harbor", "Atlas", "Pioneer", "Quantum", "Vertex", "Orbit",
    "Granite", "Lumen", "Crest", "Maple", "Falcon", "Beacon", "Horizon", "Sterling", "Polar",
    "Zenith", "Coral", "Apex", "Cobalt", "Echo", "Helix", "Juniper", "Kestrel", "Meridian", "Onyx",
    "Prism", "Sable",
];
const CORES: &[&str] = &[
    "wave", "stone", "field", "bridge", "point", "line", "gate", "path", "peak", "forge", "works",
    "light", "leaf", "spring", "ridge", "port", "view", "stream", "core", "mark", "shore", "vale",
    "wind", "star", "rock",
];
const FORMS: &[(&str, &str)] = &[
    ("Inc.", ""),
    ("Labs", "labs"),
    ("Systems", "systems"),
    ("Group", "group"),
    ("Technologies", "tech"),
    ("Analytics", "analytics"),
    ("Networks", "networks"),
    ("Health", "health"),
    ("Logistics", "logistics"),
    ("Capital", "capital"),
    ("Software", "software"),
    ("Partners", "partners"),
];

const FIRST_NAMES: &[&str] = &[
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Felix", "Grace", "Hugo", "Isla", "Jonas", "Kara",
    "Liam", "Maya", "Noah", "Olivia", "Priya", "Quinn", "Rafael", "Sofia", "Tariq", "Uma",
    "Victor", "Wen", "Xavier", "Yara", "Zoe", "Aiko", "Bruno", "Carmen", "Dev", "Emma", "Farah",
    "Gabriel", "Hana", "Ivan", "Julia", "Kenji", "Lucia", "Marco", "Nadia", "Omar", "Paula",
    "Ravi", "Sara", "Tom", "Vera", "Will", "Ximena", "Yusuf", "Zara",
];
const LAST_NAMES: &[&str] = &[
    "Smith",
    "Garcia",
    "Müller",
    "Chen",
    "Patel",
    "Johnson",
    "Martin",
    "Rossi",
    "Kim",
    "Nguyen",
    "Silva",
    "Brown",
    "Schmidt",
    "Tanaka",
    "Kowalski",
    "Dubois",
    "Jensen",
    "Lopez",
    "Williams",
    "Singh",
    "Andersson",
    "Murphy",
    "Cohen",
    "Okafor",
    "Novak",
    "Costa",
    "Fischer",
    "Haddad",
    "Ivanova",
    "Jones",
    "Khan",
    "Larsen",
    "Moreau",
    "Nakamura",
    "O'Brien",
    "Park",
    "Quintero",
    "Reyes",
    "Sato",
    "Taylor",
    "Ueda",
    "Volkov",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Berg",
    "Clarke",
    "Diaz",
    "Evans",
];
const DEPARTMENTS: &[(&str, u32)] = &[
    ("Sales", 18),
    ("Marketing", 18),
    ("Finance", 12),
    ("IT", 14),
    ("Engineering", 16),
    ("Operations", 10),
    ("Revenue Operations", 7),
    ("Procurement", 5),
];
const SENIORITIES: &[(Seniority, u32)] = &[
    (Seniority::CLevel, 8),
    (Seniority::Vp, 12),
    (Seniority::Director, 20),
    (Seniority::Manager, 28),
    (Seniority::IndividualContributor, 32),
];

/// The accounts and their people for `spec`.
pub fn population(spec: &Spec) -> Population {
    let mut rng = Rng::new(spec.seed);
    let mut accounts = Vec::with_capacity(spec.accounts);
    let mut contacts = Vec::new();
    let mut domains = std::collections::HashSet::new();
    for i in 0..spec.accounts {
        let (name, domain) = company(&mut rng, i, &mut domains);
        let industry = *rng.weighted(INDUSTRIES);
        let (country, region) = *rng.weighted(COUNTRIES);
        let (low, high) = *rng.weighted(SIZES);
        // Log-uniform inside the band: as many companies of 60 as of 180 people.
        let employee_count =
            ((low as f64).ln() + rng.unit() * ((high as f64).ln() - (low as f64).ln())).exp();
        let employee_count = employee_count.round() as i64;
        let per_head = match industry {
            "Software" | "Fintech" | "Biotech" => 180_000.0 + rng.unit() * 270_000.0,
            _ => 80_000.0 + rng.unit() * 170_000.0,
        };
        let annual_revenue = (employee_count as f64 * per_head / 1_000.0).round() * 1_000.0;
        let technologies = TECHNOLOGIES
            .iter()
            .filter(|(_, p, strong)| {
                let p = if strong.contains(&industry) {
                    p * 1.8
                } else {
                    *p
                };
                rng.chance(p.min(0.95))
            })
            .map(|(t, _, _)| *t)
            .collect();
        // Skewed toward 0: most accounts barely engage, a few surge.
        let interest = rng.unit().powi(3);
        let contact_count = 2 + (employee_count as f64).log2() as usize / 2 + rng.below(3);
        let first_contact = contacts.len();
        let mut locals = std::collections::HashSet::new();
        for _ in 0..contact_count {
            contacts.push(person(&mut rng, i, &domain, &mut locals));
        }
        accounts.push(Account {
            name,
            domain,
            industry,
            employee_count,
            annual_revenue,
            country,
            region,
            technologies,
            interest,
            first_contact,
            contact_count,
        });
    }
    Population { accounts, contacts }
}

/// A company name and its unique web domain.
fn company(
    rng: &mut Rng,
    index: usize,
    taken: &mut std::collections::HashSet<String>,
) -> (String, String) {
    for _ in 0..20 {
        let (prefix, core) = (rng.pick(PREFIXES), rng.pick(CORES));
        let (form, slug) = rng.pick(FORMS);
        let stem = format!("{prefix}{core}");
        let domain = format!("{}{slug}.com", stem.to_ascii_lowercase());
        if taken.insert(domain.clone()) {
            return (format!("{stem} {form}"), domain);
        }
    }
    // Past ~12,000 accounts the names run out: number the rest.
    let stem = format!("{}{}", rng.pick(PREFIXES), rng.pick(CORES));
    let domain = format!("{}{index}.com", stem.to_ascii_lowercase());
    taken.insert(domain.clone());
    (format!("{stem} {index}"), domain)
}

fn person(
    rng: &mut Rng,
    account: usize,
    domain: &str,
    taken: &mut std::collections::HashSet<String>,
) -> Contact {
    let (first, last) = (*rng.pick(FIRST_NAMES), *rng.pick(LAST_NAMES));
    let base: String = format!("{first}.{last}")
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'ü' => 'u',
            '\'' => '-',
            c => c,
        })
        .collect();
    let mut local = base.clone();
    let mut n = 2;
    while !taken.insert(local.clone()) {
        local = format!("{base}{n}");
        n += 1;
    }
    let seniority = *rng.weighted(SENIORITIES);
    let department = *rng.weighted(DEPARTMENTS);
    Contact {
        email: format!("{local}@{domain}"),
        name: format!("{first} {last}"),
        title: title(seniority, department),
        seniority,
        department,
        account,
        role: role(rng, seniority, department),
    }
}

fn title(seniority: Seniority, department: &str) -> String {
    match seniority {
        Seniority::CLevel => match department {
            "Finance" => "Chief Financial Officer".into(),
            "IT" => "Chief Information Officer".into(),
            "Engineering" => "Chief Technology Officer".into(),
            "Marketing" => "Chief Marketing Officer".into(),
            "Sales" | "Revenue Operations" => "Chief Revenue Officer".into(),
            "Procurement" => "Chief Procurement Officer".into(),
            _ => "Chief Operating Officer".into(),
        },
        Seniority::Vp => format!("VP of {department}"),
        Seniority::Director => format!("Director of {department}"),
        Seniority::Manager => format!("{department} Manager"),
        Seniority::IndividualContributor => match department {
            "Engineering" => "Software Engineer".into(),
            "IT" => "Systems Administrator".into(),
            "Finance" => "Financial Analyst".into(),
            "Sales" => "Account Executive".into(),
            _ => format!("{department} Specialist"),
        },
    }
}

/// The committee role such a person plausibly plays, for about two in three of them.
fn role(rng: &mut Rng, seniority: Seniority, department: &str) -> Option<BuyingRole> {
    if !rng.chance(0.65) {
        return None;
    }
    Some(match (seniority, department) {
        (_, "Procurement") => BuyingRole::Blocker,
        (Seniority::CLevel, "Finance") | (Seniority::Vp, "Finance") => BuyingRole::EconomicBuyer,
        (Seniority::CLevel, _) => BuyingRole::DecisionMaker,
        (_, "IT") | (_, "Engineering") => BuyingRole::TechnicalEvaluator,
        (Seniority::Vp, _) | (Seniority::Director, _) => BuyingRole::Champion,
        (Seniority::Manager, _) => BuyingRole::Influencer,
        (Seniority::IndividualContributor, _) => BuyingRole::EndUser,
    })
}

/// Kinds by how far along the account is: (kind, weight when cold, weight when hot).
const KINDS: &[(EngagementKind, f64, f64)] = &[
    (EngagementKind::EmailOpen, 40.0, 14.0),
    (EngagementKind::EmailClick, 14.0, 10.0),
    (EngagementKind::WebVisit, 22.0, 16.0),
    (EngagementKind::ContentDownload, 8.0, 9.0),
    (EngagementKind::WebinarAttended, 3.0, 7.0),
    (EngagementKind::FormSubmit, 2.0, 5.0),
    (EngagementKind::PricingPageView, 1.5, 14.0),
    (EngagementKind::DemoRequest, 0.3, 6.0),
    (EngagementKind::ContactSales, 0.2, 4.0),
    (EngagementKind::Unsubscribe, 2.0, 0.3),
    (EngagementKind::EmailBounce, 1.5, 0.2),
    (EngagementKind::IntentSurge, 0.2, 3.0),
];

/// The history for `spec` over `population`, as an iterator: a million events need not sit
/// in memory at once.
pub fn events<'a>(spec: &Spec, population: &'a Population) -> Events<'a> {
    // Cumulative weights: an account draws events in proportion to a floor plus its interest.
    let mut total = 0.0;
    let cumulative = population
        .accounts
        .iter()
        .map(|a| {
            total += 0.05 + a.interest;
            total
        })
        .collect();
    Events {
        rng: Rng::new(spec.seed ^ 0xE7E7_E7E7_E7E7_E7E7),
        spec: *spec,
        population,
        cumulative,
        next: 0,
    }
}

pub struct Events<'a> {
    rng: Rng,
    spec: Spec,
    population: &'a Population,
    cumulative: Vec<f64>,
    next: usize,
}

impl Iterator for Events<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let total = *self.cumulative.last()?;
        if self.next >= self.spec.events {
            return None;
        }
        let n = self.next;
        self.next += 1;
        let rng = &mut self.rng;
        let target = rng.unit() * total;
        let account = self
            .cumulative
            .partition_point(|c| *c <= target)
            .min(self.cumulative.len() - 1);
        let a = &self.population.accounts[account];
        let hot = a.interest;
        let mut at = rng.unit() * KINDS.iter().map(|k| mix(k, hot)).sum::<f64>();
        let mut kind = EngagementKind::EmailOpen;
        for k in KINDS {
            at -= mix(k, hot);
            if at < 0.0 {
                kind = k.0;
                break;
            }
        }
        let contact = if kind.is_account_level() || a.contact_count == 0 {
            None
        } else {
            // Senior people of an interested account engage more: the first draw of two
            // that is more senior wins with the account's interest as its chance.
            let one = a.first_contact + rng.below(a.contact_count);
            let two = a.first_contact + rng.below(a.contact_count);
            let seniority = |i: usize| self.population.contacts[i].seniority;
            Some(if rng.chance(hot) && seniority(two) < seniority(one) {
                two
            } else {
                one
            })
        };
        let kind = if contact.is_none() {
            EngagementKind::IntentSurge
        } else {
            kind
        };
        // Interested accounts are heating up: their events lean toward the recent end.
        let age = rng.unit().powf(1.0 + 2.0 * hot) * f64::from(self.spec.days);
        let at = self
            .spec
            .now
            .plus_millis(-((age * MILLIS_PER_DAY as f64) as i64) - 1_000);
        Some(Event {
            id: format!("g{}-{n}", self.spec.seed),
            contact,
            account,
            kind,
            at,
        })
    }
}

fn mix(k: &(EngagementKind, f64, f64), hot: f64) -> f64 {
    k.1 * (1.0 - hot) + k.2 * hot
}
