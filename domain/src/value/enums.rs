use super::Invalid;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire spelling, e.g. `C_LEVEL`.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The inverse of `as_str`: the exact wire spelling, nothing else.
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

        // The wire spelling, so stored JSON (scoring models) reads like the GraphQL enums.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
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

text_enum!(
    /// What a contact (or, for intent, an account) did. Variant order is the order a score's
    /// breakdown lists kinds in.
    EngagementKind {
        EmailOpen = "EMAIL_OPEN",
        EmailClick = "EMAIL_CLICK",
        WebVisit = "WEB_VISIT",
        PricingPageView = "PRICING_PAGE_VIEW",
        ContentDownload = "CONTENT_DOWNLOAD",
        WebinarAttended = "WEBINAR_ATTENDED",
        DemoRequest = "DEMO_REQUEST",
        ContactSales = "CONTACT_SALES",
        FormSubmit = "FORM_SUBMIT",
        Unsubscribe = "UNSUBSCRIBE",
        EmailBounce = "EMAIL_BOUNCE",
        IntentSurge = "INTENT_SURGE",
    }
);

impl EngagementKind {
    /// The actions that show buying intent; SQL needs one within the model's window.
    pub fn is_high_intent(self) -> bool {
        matches!(
            self,
            Self::DemoRequest | Self::ContactSales | Self::PricingPageView
        )
    }

    /// Signals about the whole account (third-party intent), scored as intent, not as a
    /// contact's engagement.
    pub fn is_account_level(self) -> bool {
        matches!(self, Self::IntentSurge)
    }

    /// Signals that a contact is moving away (or unreachable): they lower engagement and do
    /// not make the contact "engaged".
    pub fn is_disengagement(self) -> bool {
        matches!(self, Self::Unsubscribe | Self::EmailBounce)
    }
}

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
        for k in EngagementKind::ALL {
            assert_eq!(EngagementKind::parse(k.as_str()), Ok(*k));
        }
        assert_eq!(EngagementKind::ALL.len(), 12);
        assert!(Role::parse("root").is_err());
    }
}

#[cfg(test)]
mod engagement_kind_tests {
    use super::EngagementKind::*;
    use super::*;

    #[test]
    fn high_intent_and_account_level_kinds() {
        let high: Vec<_> = EngagementKind::ALL
            .iter()
            .filter(|k| k.is_high_intent())
            .collect();
        assert_eq!(high, [&PricingPageView, &DemoRequest, &ContactSales]);
        let account: Vec<_> = EngagementKind::ALL
            .iter()
            .filter(|k| k.is_account_level())
            .collect();
        assert_eq!(account, [&IntentSurge]);
        assert!(Unsubscribe.is_disengagement() && !EmailOpen.is_disengagement());
    }

    #[test]
    fn serde_uses_the_wire_spelling() -> Result<(), serde_json::Error> {
        assert_eq!(serde_json::to_string(&DemoRequest)?, "\"DEMO_REQUEST\"");
        assert_eq!(
            serde_json::from_str::<Seniority>("\"C_LEVEL\"")?,
            Seniority::CLevel
        );
        assert!(serde_json::from_str::<EngagementKind>("\"demo_request\"").is_err());
        Ok(())
    }
}
