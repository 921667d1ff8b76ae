use async_graphql::Enum;
use quorum_domain::value as v;

macro_rules! mirror {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
        #[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($variant),+ }

        impl From<v::$name> for $name {
            fn from(x: v::$name) -> Self {
                match x { $(v::$name::$variant => Self::$variant),+ }
            }
        }

        impl From<$name> for v::$name {
            fn from(x: $name) -> Self {
                match x { $($name::$variant => Self::$variant),+ }
            }
        }

        impl $name {
            /// From the stored text; unknown text (a newer version's value) reads as `None`.
            pub fn from_stored(s: &str) -> Option<Self> {
                v::$name::parse(s).ok().map(Self::from)
            }
        }
    };
}

mirror!(
    /// What a user may do.
    Role { Admin, Marketer, Manager, Rep }
);
mirror!(
    /// A contact's level.
    Seniority { CLevel, Vp, Director, Manager, IndividualContributor }
);
mirror!(
    /// A member's part in a buying decision.
    BuyingRole { DecisionMaker, EconomicBuyer, Champion, Influencer, TechnicalEvaluator, EndUser, Blocker }
);
mirror!(
    /// Where an account stands in the funnel.
    Stage { Target, Engaged, Mql, Sql, Opportunity, Won, Lost, Disqualified }
);

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}
