use super::Invalid;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire spelling, e.g. `C_LEVEL`.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Result<Self, Invalid> {
                match raw {
                    $($text => Ok($name::$variant),)+
                    other => Err(Invalid::new(format!(
                        concat!("`{}` is not a ", stringify!($name)), other
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// What a user may do; checked on every field.
    Role { Admin = "ADMIN", Marketer = "MARKETER", Manager = "MANAGER", Rep = "REP" }
);

text_enum!(
    /// A contact's level; scoring multiplies engagement by it.
    Seniority {
        CLevel = "C_LEVEL",
        Vp = "VP",
        Director = "DIRECTOR",
        Manager = "MANAGER",
        IndividualContributor = "INDIVIDUAL_CONTRIBUTOR",
    }
);

text_enum!(
    /// A member's part in a buying decision.
    BuyingRole {
        DecisionMaker = "DECISION_MAKER",
        EconomicBuyer = "ECONOMIC_BUYER",
        Champion = "CHAMPION",
        Influencer = "INFLUENCER",
        TechnicalEvaluator = "TECHNICAL_EVALUATOR",
        EndUser = "END_USER",
        Blocker = "BLOCKER",
    }
);

text_enum!(
    /// Where an account stands in the funnel.
    Stage {
        Target = "TARGET",
        Engaged = "ENGAGED",
        Mql = "MQL",
        Sql = "SQL",
        Opportunity = "OPPORTUNITY",
        Won = "WON",
        Lost = "LOST",
        Disqualified = "DISQUALIFIED",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_round_trips_through_its_text() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(*r));
        }
        for s in Seniority::ALL {
            assert_eq!(Seniority::parse(s.as_str()), Ok(*s));
        }
        for b in BuyingRole::ALL {
            assert_eq!(BuyingRole::parse(b.as_str()), Ok(*b));
        }
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Ok(*s));
        }
        assert!(Role::parse("root").is_err());
    }
}
