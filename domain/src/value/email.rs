use super::{Domain, Invalid};

/// An e-mail address, lower-cased, whose domain part is a valid [`Domain`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email {
    address: String,
    domain: Domain,
}

impl Email {
    /// Case is folded whole: mailbox providers treat the local part case-insensitively in
    /// practice, and uniqueness per workspace must not depend on how someone typed it.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::new(format!("`{}` is not an e-mail address", raw.trim()));
        let s = raw.trim().to_lowercase();
        let (local, host) = s.rsplit_once('@').ok_or_else(bad)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        // Domain::parse forgives schemes and paths; an address must be a bare host.
        let host_ok = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !local_ok || !host_ok || s.len() > 254 {
            return Err(bad());
        }
        let domain = Domain::parse(host).map_err(|_| bad())?;
        if domain.as_str() != host {
            return Err(bad());
        }
        Ok(Self { address: s, domain })
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    pub fn domain(&self) -> &Domain {
        &self.domain
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_folds_case_and_keeps_the_domain() {
        let e = Email::parse(" Jane.Doe+abm@Acme.IO ");
        assert_eq!(e.as_ref().map(Email::as_str), Ok("jane.doe+abm@acme.io"));
        assert_eq!(
            e.map(|e| e.domain().as_str().to_owned()),
            Ok("acme.io".to_owned())
        );
    }

    #[test]
    fn parse_refuses_malformed_addresses() {
        for raw in [
            "",
            "jane",
            "jane@",
            "@acme.io",
            "jane@acme",
            "ja ne@acme.io",
            "jane@@acme.io",
            ".jane@acme.io",
            "jane..d@acme.io",
            "jane@www.acme.io/x",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw}");
        }
    }
}
