//! `quorum generate`: the synthetic workspace of `quorum_domain::generate` as three NDJSON
//! files whose keys are the GraphQL input fields, so `quorum import` (or any client of the
//! mutations) takes them as they are.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use chrono::SecondsFormat;
use quorum_domain::generate::{self, Population, Spec};
use serde_json::json;

use crate::scoring::datetime;

/// The files `write` made.
#[derive(Debug, Clone)]
pub struct Files {
    pub accounts: PathBuf,
    pub contacts: PathBuf,
    pub engagements: PathBuf,
}

/// Writes `accounts.ndjson`, `contacts.ndjson` and `engagements.ndjson` into `dir`.
pub fn write(spec: &Spec, dir: &Path) -> std::io::Result<Files> {
    std::fs::create_dir_all(dir)?;
    let files = Files {
        accounts: dir.join("accounts.ndjson"),
        contacts: dir.join("contacts.ndjson"),
        engagements: dir.join("engagements.ndjson"),
    };
    let people = generate::population(spec);
    lines(
        &files.accounts,
        people.accounts.iter().map(|a| {
            json!({
                "name": a.name,
                "domain": a.domain,
                "industry": a.industry,
                "employeeCount": a.employee_count,
                "annualRevenue": a.annual_revenue,
                "country": a.country,
                "region": a.region,
                "technologies": a.technologies,
            })
        }),
    )?;
    lines(
        &files.contacts,
        people.contacts.iter().map(|c| {
            json!({
                "email": c.email,
                "name": c.name,
                "title": c.title,
                "seniority": c.seniority.as_str(),
                "department": c.department,
                "accountDomain": people.accounts[c.account].domain,
            })
        }),
    )?;
    lines(&files.engagements, events(spec, &people))?;
    Ok(files)
}

fn events<'a>(spec: &Spec, people: &'a Population) -> impl Iterator<Item = serde_json::Value> + 'a {
    generate::events(spec, people).map(|e| {
        let at = datetime(e.at)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        match e.contact {
            Some(c) => json!({
                "eventId": e.id,
                "contactEmail": people.contacts[c].email,
                "kind": e.kind.as_str(),
                "occurredAt": at,
            }),
            None => json!({
                "eventId": e.id,
                "accountDomain": people.accounts[e.account].domain,
                "kind": e.kind.as_str(),
                "occurredAt": at,
            }),
        }
    })
}

fn lines(path: &Path, rows: impl Iterator<Item = serde_json::Value>) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for row in rows {
        serde_json::to_writer(&mut out, &row)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
