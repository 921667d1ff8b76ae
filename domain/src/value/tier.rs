use super::Invalid;

/// An ABM tier: 1 (one-to-one, the most attention) to 3 (one-to-many).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tier(u8);

impl Tier {
    pub fn parse(raw: i64) -> Result<Self, Invalid> {
        match raw {
            1..=3 => Ok(Self(raw as u8)),
            _ => Err(Invalid::new(format!("tier must be 1, 2 or 3, not {raw}"))),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_to_three_are_tiers() {
        assert!([1, 2, 3].iter().all(|t| Tier::parse(*t).is_ok()));
        assert!([-1, 0, 4, 256].iter().all(|t| Tier::parse(*t).is_err()));
    }
}
