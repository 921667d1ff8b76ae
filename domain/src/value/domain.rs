use super::Invalid;

/// A company web domain: lower-case, no scheme, no path, no trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain(String);

impl Domain {
    /// Accepts what people paste (`https://www.Acme.io/pricing`, `acme.io.`) and keeps the host.
    /// A leading `www.` is dropped: it names the same company.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let mut d = raw.trim().to_ascii_lowercase();
        for scheme in ["https://", "http://"] {
            if let Some(rest) = d.strip_prefix(scheme) {
                d = rest.to_owned();
            }
        }
        if let Some(end) = d.find(['/', '?', '#']) {
            d.truncate(end);
        }
        let d = d.trim_end_matches('.');
        let d = d.strip_prefix("www.").unwrap_or(d);
        let labels: Vec<&str> = d.split('.').collect();
        let tld_ok = labels.last().is_some_and(|t| {
            t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
        });
        if d.len() <= 253 && labels.len() >= 2 && tld_ok && labels.iter().all(|l| is_dns_label(l)) {
            Ok(Self(d.to_owned()))
        } else {
            Err(Invalid::new(format!(
                "`{}` is not a domain name",
                raw.trim()
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This domain, then each parent that still has two labels: `eu.acme.co` → `acme.co`.
    /// Lead-to-account matching tries them in order, so a contact at a subsidiary's
    /// sub-domain still finds the company.
    pub fn with_parents(&self) -> Vec<Domain> {
        let mut out = vec![self.clone()];
        let mut rest = self.0.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if !parent.contains('.') {
                break;
            }
            out.push(Self(parent.to_owned()));
            rest = parent;
        }
        out
    }
}

impl std::fmt::Display for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_dns_label(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && !l.starts_with('-')
        && !l.ends_with('-')
        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Consumer mailbox providers: an address there says nothing about the person's employer, so
/// lead-to-account matching never uses these domains.
const FREE_MAIL: &[&str] = &[
    "aol.com",
    "gmail.com",
    "googlemail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "hey.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.de",
    "hotmail.fr",
    "icloud.com",
    "live.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "web.de",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.fr",
    "yandex.com",
    "yandex.ru",
    "zoho.com",
    "163.com",
    "126.com",
    "fastmail.com",
    "tutanota.com",
    "orange.fr",
    "free.fr",
    "libero.it",
    "t-online.de",
    "comcast.net",
    "verizon.net",
    "att.net",
    "btinternet.com",
];

/// True for consumer mailbox providers (gmail.com, outlook.com, …).
pub fn is_free_mail(domain: &Domain) -> bool {
    FREE_MAIL.contains(&domain.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_the_host_of_what_people_paste() {
        for (raw, want) in [
            ("acme.io", "acme.io"),
            ("  ACME.io. ", "acme.io"),
            ("https://www.acme.io/pricing?x=1", "acme.io"),
            ("http://eu.acme.co.uk", "eu.acme.co.uk"),
            ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ] {
            assert_eq!(
                Domain::parse(raw).map(|d| d.0),
                Ok(want.to_owned()),
                "{raw}"
            );
        }
    }

    #[test]
    fn parse_refuses_what_is_not_a_domain() {
        for raw in [
            "", "acme", "acme..io", "-acme.io", "acme-.io", "ac me.io", "acme.i", "a@b.io",
            "acme.123",
        ] {
            assert!(Domain::parse(raw).is_err(), "{raw}");
        }
        assert!(Domain::parse(&format!("{}.io", "a".repeat(64))).is_err());
    }

    #[test]
    fn with_parents_stops_at_two_labels() {
        let d = Domain::parse("a.eu.acme.io").map(|d| d.with_parents());
        let names: Vec<String> = d.into_iter().flatten().map(|d| d.0).collect();
        assert_eq!(names, ["a.eu.acme.io", "eu.acme.io", "acme.io"]);
    }

    #[test]
    fn free_mail_is_recognised() {
        assert!(Domain::parse("gmail.com").is_ok_and(|d| is_free_mail(&d)));
        assert!(Domain::parse("acme.io").is_ok_and(|d| !is_free_mail(&d)));
    }
}
