use super::Invalid;

/// An officially assigned ISO 3166-1 alpha-2 country code, upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

/// The 249 officially assigned alpha-2 codes, two letters each, sorted for binary search.
const ASSIGNED: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS \
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE \
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM \
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC \
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA \
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO \
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

impl CountryCode {
    /// Case-insensitive; `uk` is refused (the code is `GB`), as are reserved codes like `EU`.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let up = raw.trim().to_ascii_uppercase();
        let bytes = up.as_bytes();
        let known = bytes.len() == 2 && bytes.iter().all(u8::is_ascii_uppercase) && {
            let codes: Vec<&str> = ASSIGNED.split(' ').collect();
            codes.binary_search(&up.as_str()).is_ok()
        };
        if known {
            Ok(Self([bytes[0], bytes[1]]))
        } else {
            Err(Invalid::new(format!(
                "`{}` is not an ISO 3166-1 alpha-2 country code",
                raw.trim()
            )))
        }
    }

    /// The two upper-case letters, e.g. `DE`.
    pub fn as_str(&self) -> &str {
        // Built only from two ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl serde::Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

// Through `parse`, so stored JSON cannot smuggle in an unassigned code.
impl<'de> serde::Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_complete() {
        let codes: Vec<&str> = ASSIGNED.split(' ').collect();
        assert_eq!(codes.len(), 249);
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn parse_accepts_assigned_codes_in_any_case() {
        assert_eq!(
            CountryCode::parse(" de ").map(|c| c.as_str().to_owned()),
            Ok("DE".into())
        );
        assert!(CountryCode::parse("US").is_ok());
    }

    #[test]
    fn serde_round_trips_through_parse() -> Result<(), serde_json::Error> {
        let de: CountryCode = serde_json::from_str("\"de\"")?;
        assert_eq!(serde_json::to_string(&de)?, "\"DE\"");
        assert!(serde_json::from_str::<CountryCode>("\"UK\"").is_err());
        Ok(())
    }

    #[test]
    fn parse_refuses_unassigned_and_malformed_codes() {
        for raw in ["", "U", "USA", "UK", "EU", "ZZ", "1A", "É"] {
            assert!(CountryCode::parse(raw).is_err(), "{raw}");
        }
    }
}
