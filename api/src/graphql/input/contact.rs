use async_graphql::{InputObject, MaybeUndefined};
use quorum_domain::value::{Domain, Email};

use super::{patch, text};
use crate::error::{AppError, At};
use crate::graphql::object::Seniority;
use crate::store::contact::ContactUpsert;

/// A contact to create or update, keyed on `email`. A field left out keeps its stored value;
/// `null` clears it.
#[derive(InputObject)]
pub struct ContactInput {
    pub email: String,
    pub name: MaybeUndefined<String>,
    pub title: MaybeUndefined<String>,
    pub seniority: MaybeUndefined<Seniority>,
    pub department: MaybeUndefined<String>,
    /// The account's domain. Left out: the contact keeps its account, or is matched by its
    /// e-mail's domain (never for free-mail domains such as gmail.com).
    pub account_domain: Option<String>,
}

impl ContactInput {
    pub fn parse(self, at: &str) -> Result<ContactUpsert, AppError> {
        let f = |name: &str| format!("{at}.{name}");
        Ok(ContactUpsert {
            email: Email::parse(&self.email).at(|| f("email"))?,
            name: patch(self.name, || f("name"), text(200))?,
            title: patch(self.title, || f("title"), text(200))?,
            seniority: patch(self.seniority, || f("seniority"), |s| Ok(s.into()))?,
            department: patch(self.department, || f("department"), text(120))?,
            account_domain: match self.account_domain {
                Some(d) => Some(Domain::parse(&d).at(|| f("accountDomain"))?),
                None => None,
            },
        })
    }
}
