use std::collections::HashSet;

use super::*;
use crate::value::{Domain, Email};

const NOW: Timestamp = Timestamp::from_millis(1_795_000_000_000);

fn spec(accounts: usize, seed: u64) -> Spec {
    Spec::new(accounts, seed, NOW)
}

#[test]
fn the_same_spec_gives_the_same_workspace_and_another_seed_another() {
    let s = spec(300, 7);
    let (a, b) = (population(&s), population(&s));
    assert_eq!(a, b);
    assert_eq!(
        events(&s, &a).collect::<Vec<_>>(),
        events(&s, &b).collect::<Vec<_>>()
    );
    let other = population(&spec(300, 8));
    assert_ne!(a.accounts[0].domain, other.accounts[0].domain);
}

#[test]
fn domains_and_emails_are_valid_unique_and_belong_together() {
    // Past the ~12,000 name combinations too.
    let p = population(&spec(13_000, 1));
    assert_eq!(p.accounts.len(), 13_000);
    let domains: HashSet<&str> = p.accounts.iter().map(|a| a.domain.as_str()).collect();
    assert_eq!(domains.len(), p.accounts.len());
    let emails: HashSet<&str> = p.contacts.iter().map(|c| c.email.as_str()).collect();
    assert_eq!(emails.len(), p.contacts.len());
    for (i, a) in p.accounts.iter().enumerate() {
        assert_eq!(
            Domain::parse(&a.domain).map(|d| d.as_str().to_owned()),
            Ok(a.domain.clone())
        );
        assert!(a.contact_count >= 2, "{a:?}");
        let people = &p.contacts[a.first_contact..a.first_contact + a.contact_count];
        for c in people {
            assert_eq!(c.account, i);
            let email = Email::parse(&c.email).map(|e| e.domain().as_str().to_owned());
            assert_eq!(email, Ok(a.domain.clone()), "{c:?}");
        }
        assert!((0.0..=1.0).contains(&a.interest));
        assert!(
            a.employee_count >= 10 && a.employee_count <= 50_000,
            "{a:?}"
        );
        assert!(a.annual_revenue > 0.0);
    }
}

#[test]
fn firmographics_follow_plausible_distributions() {
    let p = population(&spec(5_000, 3));
    let share = |f: &dyn Fn(&Account) -> bool| {
        p.accounts.iter().filter(|a| f(a)).count() as f64 / p.accounts.len() as f64
    };
    // Most companies are small; a few are large.
    assert!(share(&|a| a.employee_count <= 200) > 0.5);
    assert!(share(&|a| a.employee_count > 5_000) < 0.1);
    // North America is the biggest region, software the biggest industry.
    assert!(share(&|a| a.region == "North America") > 0.35);
    assert!(share(&|a| a.industry == "Software") > 0.15);
    // Technologies lean toward their industries.
    let uses = |industry: &str, tech: &str| {
        let of: Vec<_> = p
            .accounts
            .iter()
            .filter(|a| a.industry == industry)
            .collect();
        of.iter().filter(|a| a.technologies.contains(&tech)).count() as f64 / of.len() as f64
    };
    assert!(uses("Retail", "Shopify") > uses("Software", "Shopify"));
    // Seniority thins out toward the top.
    let senior = p
        .contacts
        .iter()
        .filter(|c| c.seniority == Seniority::CLevel)
        .count();
    let ics = p
        .contacts
        .iter()
        .filter(|c| c.seniority == Seniority::IndividualContributor)
        .count();
    assert!(senior * 2 < ics);
}

#[test]
fn the_history_has_the_asked_size_window_and_follows_interest() {
    let mut s = spec(1_000, 11);
    s.events = 50_000;
    let p = population(&s);
    let evs: Vec<Event> = events(&s, &p).collect();
    assert_eq!(evs.len(), 50_000);
    let ids: HashSet<&str> = evs.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), evs.len());
    let start = NOW.plus_millis(-i64::from(s.days) * MILLIS_PER_DAY);
    for e in &evs {
        assert!(e.at < NOW && e.at >= start, "{e:?}");
        match e.contact {
            Some(c) => {
                assert_eq!(p.contacts[c].account, e.account);
                assert_ne!(e.kind, EngagementKind::IntentSurge);
            }
            None => assert_eq!(e.kind, EngagementKind::IntentSurge),
        }
    }
    // The hottest tenth of accounts gets far more events, and more high-intent ones, than the
    // coldest tenth.
    let mut by_interest: Vec<usize> = (0..p.accounts.len()).collect();
    by_interest.sort_by(|a, b| p.accounts[*a].interest.total_cmp(&p.accounts[*b].interest));
    let tenth = p.accounts.len() / 10;
    let cold: HashSet<usize> = by_interest[..tenth].iter().copied().collect();
    let hot: HashSet<usize> = by_interest[p.accounts.len() - tenth..]
        .iter()
        .copied()
        .collect();
    let count = |set: &HashSet<usize>, f: &dyn Fn(&Event) -> bool| {
        evs.iter()
            .filter(|e| set.contains(&e.account) && f(e))
            .count()
    };
    assert!(count(&hot, &|_| true) > 4 * count(&cold, &|_| true));
    assert!(
        count(&hot, &|e| e.kind.is_high_intent())
            > 20 * count(&cold, &|e| e.kind.is_high_intent()).max(1)
    );
    // And its events lean toward the recent end of the window.
    let mean_age = |set: &HashSet<usize>| {
        let ages: Vec<f64> = evs
            .iter()
            .filter(|e| set.contains(&e.account))
            .map(|e| NOW.days_since(e.at))
            .collect();
        ages.iter().sum::<f64>() / ages.len() as f64
    };
    assert!(mean_age(&hot) < mean_age(&cold));
}
