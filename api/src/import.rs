//! `quorum import`: accounts, contacts or engagement events from a CSV or NDJSON file, written
//! in batches through the code the mutations run.
//!
//! Two passes. The first reads the whole file and checks its shape (the header names fields of
//! the GraphQL input type, the required ones are there, every record parses) and writes
//! nothing, so a malformed file is refused whole. The second turns each row into the input type
//! and writes batches; a row whose values are wrong is rejected alone, with its line and the
//! reason, to a rejects file. Every write is idempotent (accounts by domain, contacts by e-mail,
//! events by `eventId`), so a re-run, or a run after a crash half-way, converges on the same
//! data.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
use async_graphql::{InputType, Name, Value};
use quorum_domain::value::WorkspaceId;
use sea_orm::DatabaseConnection;

use crate::error::AppError;
use crate::graphql::input::{AccountInput, ContactInput, MAX_BATCH_ITEMS};
use crate::graphql::mutation::EngagementInput;
use crate::ingest::{self, MAX_EVENTS, RawEvent};
use crate::store::{account::AccountUpsert, contact::ContactUpsert};
use crate::{store, upsert};

/// What the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Accounts,
    Contacts,
    Engagements,
}

impl Kind {
    /// The GraphQL input type a row stands for: its fields are the file's columns.
    fn input_type(self) -> &'static str {
        match self {
            Self::Accounts => "AccountInput",
            Self::Contacts => "ContactInput",
            Self::Engagements => "EngagementInput",
        }
    }

    fn max_batch(self) -> usize {
        match self {
            Self::Accounts | Self::Contacts => MAX_BATCH_ITEMS,
            Self::Engagements => MAX_EVENTS,
        }
    }

    fn default_batch(self) -> usize {
        match self {
            Self::Accounts | Self::Contacts => 500,
            Self::Engagements => 5_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    /// From the file's extension: `.csv`, or `.ndjson` / `.jsonl` / `.json`.
    fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Self::Csv),
            "ndjson" | "jsonl" | "json" => Some(Self::Ndjson),
            _ => None,
        }
    }
}

pub struct Options {
    pub kind: Kind,
    pub file: PathBuf,
    pub workspace: String,
    /// Default: from the file's extension.
    pub format: Option<Format>,
    /// Default: the file's path with `.rejected.csv` or `.rejected.ndjson` appended.
    pub rejects: Option<PathBuf>,
    /// Rows per transaction; default 500 for accounts and contacts, 5,000 for events.
    pub batch: Option<usize>,
    /// Draw progress (rows/s, ETA) on stderr.
    pub progress: bool,
}

impl Options {
    /// `file` into `workspace` with every default: the format from the extension, rejects
    /// beside the file, default batches, no progress.
    pub fn new(kind: Kind, file: PathBuf, workspace: impl Into<String>) -> Self {
        Self {
            kind,
            file,
            workspace: workspace.into(),
            format: None,
            rejects: None,
            batch: None,
            progress: false,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub rows: usize,
    /// Rows stored: new, or changing what was stored.
    pub accepted: usize,
    /// Rows already stored exactly so (an event id seen before, an unchanged account or
    /// contact): nothing was written for them.
    pub duplicates: usize,
    pub rejected: usize,
    /// Where the rejected rows went, when there were any.
    pub rejects_file: Option<PathBuf>,
    pub elapsed: Duration,
}

/// Why an import stopped. Nothing is written for a `BadFile`; after a `Write`, the batches
/// before the failing one are stored and running the import again is safe.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    BadFile(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    App(#[from] AppError),
    #[error("stopped at line {line} after {done} rows were stored (re-running is safe): {error}")]
    Write {
        line: u64,
        done: usize,
        error: AppError,
    },
}

/// A column: a field of the input type.
struct Column {
    name: String,
    ty: Type,
}

/// The input type's fields, read from the schema itself so the accepted columns are always
/// exactly what the mutations accept.
struct Fields {
    columns: Vec<Column>,
    required: Vec<String>,
    enums: HashSet<String>,
}

impl Fields {
    fn of(kind: Kind) -> Result<Self, ImportError> {
        let doc = async_graphql::parser::parse_schema(crate::graphql::sdl())
            .map_err(|e| AppError::internal(anyhow::anyhow!("schema does not parse: {e}")))?;
        let mut columns = Vec::new();
        let mut required = Vec::new();
        let mut enums = HashSet::new();
        for def in doc.definitions {
            let TypeSystemDefinition::Type(t) = def else {
                continue;
            };
            let t = t.node;
            match t.kind {
                TypeKind::Enum(_) => {
                    enums.insert(t.name.node.to_string());
                }
                TypeKind::InputObject(obj) if t.name.node.as_str() == kind.input_type() => {
                    for f in obj.fields {
                        let f = f.node;
                        if !f.ty.node.nullable && f.default_value.is_none() {
                            required.push(f.name.node.to_string());
                        }
                        columns.push(Column {
                            name: f.name.node.to_string(),
                            ty: f.ty.node,
                        });
                    }
                }
                _ => {}
            }
        }
        if columns.is_empty() {
            return Err(AppError::internal(anyhow::anyhow!(
                "{} is not in the schema",
                kind.input_type()
            ))
            .into());
        }
        Ok(Self {
            columns,
            required,
            enums,
        })
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    fn names(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        names.join(", ")
    }

    /// Refuses unknown, repeated and missing columns.
    fn check_header<'a>(
        &self,
        header: impl IntoIterator<Item = &'a str>,
        line: u64,
    ) -> Result<(), ImportError> {
        let mut seen = HashSet::new();
        for name in header {
            if self.column(name).is_none() {
                return Err(ImportError::BadFile(format!(
                    "line {line}: unknown column `{name}`; the columns are the input fields: {}",
                    self.names()
                )));
            }
            if !seen.insert(name) {
                return Err(ImportError::BadFile(format!(
                    "line {line}: column `{name}` appears twice"
                )));
            }
        }
        if let Some(missing) = self.required.iter().find(|r| !seen.contains(r.as_str())) {
            return Err(ImportError::BadFile(format!(
                "line {line}: required column `{missing}` is missing"
            )));
        }
        Ok(())
    }

    /// A CSV cell as the GraphQL value of its column. A blank cell leaves the field out, so an
    /// upsert keeps what is stored; list cells separate items with `;`; a JSON column holds
    /// JSON text.
    fn cell(&self, ty: &Type, raw: &str) -> Result<Option<Value>, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let value = match &ty.base {
            BaseType::List(inner) => Value::List(
                trimmed
                    .split(';')
                    .filter(|item| !item.trim().is_empty())
                    .map(|item| self.cell(inner, item).map(|v| v.unwrap_or(Value::Null)))
                    .collect::<Result<_, _>>()?,
            ),
            BaseType::Named(name) => match name.as_str() {
                "Int" => Value::from(
                    trimmed
                        .parse::<i64>()
                        .map_err(|_| format!("`{trimmed}` is not a whole number"))?,
                ),
                "Float" => match trimmed.parse::<f64>() {
                    Ok(f) if f.is_finite() => Value::from(f),
                    _ => return Err(format!("`{trimmed}` is not a number")),
                },
                "Boolean" => match trimmed.to_ascii_lowercase().as_str() {
                    "true" => Value::Boolean(true),
                    "false" => Value::Boolean(false),
                    _ => return Err(format!("`{trimmed}` is not true or false")),
                },
                "JSON" => serde_json::from_str(trimmed)
                    .ok()
                    .and_then(|j| Value::from_json(j).ok())
                    .ok_or_else(|| "not valid JSON".to_owned())?,
                enum_name if self.enums.contains(enum_name) => {
                    Value::Enum(Name::new(trimmed.to_ascii_uppercase()))
                }
                _ => Value::String(raw.to_owned()),
            },
        };
        Ok(Some(value))
    }
}

/// One row of the file, as read.
struct Row {
    /// 1-based line where the record starts.
    line: u64,
    /// The record as the file has it, for the rejects file.
    original: Original,
    /// The row as the input type's GraphQL value, or why it cannot be one.
    value: Result<Value, String>,
}

enum Original {
    Csv(csv::StringRecord),
    Json(serde_json::Value),
}

/// Reads a file's rows, once to check it and once to import it.
enum Reader {
    Csv(csv::Reader<File>, csv::StringRecord),
    Ndjson(std::io::Lines<BufReader<File>>, u64),
}

impl Reader {
    fn open(path: &Path, format: Format, fields: &Fields) -> Result<Self, ImportError> {
        let file = File::open(path)
            .map_err(|e| ImportError::BadFile(format!("{}: {e}", path.display())))?;
        match format {
            Format::Csv => {
                let mut csv = csv::ReaderBuilder::new()
                    .trim(csv::Trim::Headers)
                    .from_reader(file);
                let header = csv.headers().map_err(bad_csv)?.clone();
                fields.check_header(header.iter(), 1)?;
                Ok(Self::Csv(csv, header))
            }
            Format::Ndjson => Ok(Self::Ndjson(BufReader::new(file).lines(), 0)),
        }
    }

    /// The next row; `Err` for a record that does not parse at all.
    fn next(&mut self, fields: &Fields) -> Result<Option<Row>, ImportError> {
        match self {
            Self::Csv(csv, header) => {
                let mut record = csv::StringRecord::new();
                if !csv.read_record(&mut record).map_err(bad_csv)? {
                    return Ok(None);
                }
                let line = record.position().map_or(0, csv::Position::line);
                let mut object = async_graphql::indexmap::IndexMap::new();
                let mut problem = None;
                for (name, raw) in header.iter().zip(record.iter()) {
                    let Some(column) = fields.column(name) else {
                        continue;
                    };
                    match fields.cell(&column.ty, raw) {
                        Ok(Some(v)) => {
                            object.insert(Name::new(name), v);
                        }
                        Ok(None) => {}
                        Err(e) => {
                            problem.get_or_insert(format!("{name}: {e}"));
                        }
                    }
                }
                Ok(Some(Row {
                    line,
                    original: Original::Csv(record),
                    value: problem.map_or(Ok(Value::Object(object)), Err),
                }))
            }
            Self::Ndjson(lines, n) => loop {
                *n += 1;
                let line = *n;
                let text = match lines.next() {
                    None => return Ok(None),
                    Some(Ok(text)) => text,
                    Some(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                        return Err(ImportError::BadFile(format!(
                            "line {line}: not valid UTF-8"
                        )));
                    }
                    Some(Err(e)) => return Err(e.into()),
                };
                if text.trim().is_empty() {
                    continue;
                }
                let json: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| ImportError::BadFile(format!("line {line}: not JSON: {e}")))?;
                let serde_json::Value::Object(map) = &json else {
                    return Err(ImportError::BadFile(format!(
                        "line {line}: not a JSON object"
                    )));
                };
                fields.check_header(map.keys().map(String::as_str), line)?;
                let value = Value::from_json(json.clone()).map_err(|e| e.to_string());
                return Ok(Some(Row {
                    line,
                    original: Original::Json(json),
                    value,
                }));
            },
        }
    }
}

fn bad_csv(e: csv::Error) -> ImportError {
    ImportError::BadFile(match e.position() {
        Some(p) => format!("line {}: {}", p.line(), csv_reason(&e)),
        None => csv_reason(&e),
    })
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
        _ => e.to_string(),
    }
}

/// A rejected row.
struct Reject {
    line: u64,
    reason: String,
    original: Original,
}

/// Rows waiting for one transaction.
struct Batch<T> {
    rows: Vec<(u64, Original, T)>,
    keys: HashSet<String>,
}

impl<T> Batch<T> {
    fn new() -> Self {
        Self {
            rows: Vec::new(),
            keys: HashSet::new(),
        }
    }
}

/// A row ready to write.
enum Item {
    Account(AccountUpsert),
    Contact(ContactUpsert),
    Event(RawEvent),
}

impl Item {
    fn account(&self) -> Option<&AccountUpsert> {
        match self {
            Self::Account(a) => Some(a),
            _ => None,
        }
    }

    fn contact(&self) -> Option<&ContactUpsert> {
        match self {
            Self::Contact(c) => Some(c),
            _ => None,
        }
    }

    fn event(&self) -> Option<&RawEvent> {
        match self {
            Self::Event(e) => Some(e),
            _ => None,
        }
    }

    /// Turns a row's GraphQL value into the mutation's item, or the reason it cannot be one.
    fn parse(kind: Kind, value: Value) -> Result<(String, Self), String> {
        fn input<T: InputType>(value: Value) -> Result<T, String> {
            T::parse(Some(value)).map_err(|e| e.into_server_error(Default::default()).message)
        }
        // The same checks the mutations make; a field path such as `row.domain` becomes
        // `domain`.
        let reason = |e: AppError| match e {
            AppError::BadUserInput { field, message } => {
                format!("{}: {message}", field.trim_start_matches("row."))
            }
            other => other.to_string(),
        };
        match kind {
            Kind::Accounts => {
                let a = input::<AccountInput>(value)?.parse("row").map_err(reason)?;
                Ok((a.domain.as_str().to_owned(), Self::Account(a)))
            }
            Kind::Contacts => {
                let c = input::<ContactInput>(value)?.parse("row").map_err(reason)?;
                Ok((c.email.as_str().to_owned(), Self::Contact(c)))
            }
            Kind::Engagements => {
                let e = RawEvent::from(input::<EngagementInput>(value)?);
                Ok((e.event_id.trim().to_owned(), Self::Event(e)))
            }
        }
    }
}

/// Counts, and the drawing of progress.
struct Tally {
    total: usize,
    seen: usize,
    accepted: usize,
    duplicates: usize,
    rejects: Vec<Reject>,
    started: Instant,
    drawn: Option<Instant>,
    progress: bool,
    tty: bool,
}

impl Tally {
    fn reject(&mut self, line: u64, original: Original, reason: String) {
        self.rejects.push(Reject {
            line,
            reason,
            original,
        });
    }

    /// Redraws at most 4 times a second on a terminal, and logs a line every 10 s otherwise.
    fn draw(&mut self, last: bool) {
        if !self.progress {
            return;
        }
        let every = if self.tty {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(10)
        };
        if !last && self.drawn.is_some_and(|d| d.elapsed() < every) {
            return;
        }
        self.drawn = Some(Instant::now());
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.seen as f64 / secs;
        let eta = if rate > 0.0 {
            (self.total.saturating_sub(self.seen)) as f64 / rate
        } else {
            0.0
        };
        let line = format!(
            "{:>3}% {}/{} rows, {:.0} rows/s, ETA {}",
            self.seen * 100 / self.total.max(1),
            self.seen,
            self.total,
            rate,
            clock(eta),
        );
        let mut err = std::io::stderr().lock();
        // Progress is a courtesy: a closed stderr must not stop the import.
        let _ = if self.tty {
            write!(err, "\r\x1b[2K{line}{}", if last { "\n" } else { "" })
        } else {
            writeln!(err, "{line}")
        };
    }
}

fn clock(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s / 60 % 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Runs an import: see the module's comment.
pub async fn run(db: &DatabaseConnection, opts: Options) -> Result<Summary, ImportError> {
    let format = match opts.format.or_else(|| Format::of(&opts.file)) {
        Some(f) => f,
        None => {
            return Err(ImportError::BadFile(format!(
                "{}: name the format with --format (csv or ndjson); the extension does not say",
                opts.file.display()
            )));
        }
    };
    let batch_size = opts.batch.unwrap_or(opts.kind.default_batch());
    if batch_size == 0 || batch_size > opts.kind.max_batch() {
        return Err(ImportError::BadFile(format!(
            "--batch must be 1 to {}",
            opts.kind.max_batch()
        )));
    }
    let ws = match store::workspace::by_name(db, &opts.workspace).await? {
        Some(w) => WorkspaceId::from(w.id),
        None => {
            return Err(ImportError::BadFile(format!(
                "no workspace is called `{}` (create it with `quorum user add`)",
                opts.workspace
            )));
        }
    };
    let fields = Fields::of(opts.kind)?;

    // First pass: the whole file must read before anything is written.
    let mut reader = Reader::open(&opts.file, format, &fields)?;
    let mut total = 0;
    while reader.next(&fields)?.is_some() {
        total += 1;
    }
    if total == 0 {
        return Err(ImportError::BadFile(format!(
            "{}: no rows",
            opts.file.display()
        )));
    }

    let mut tally = Tally {
        total,
        seen: 0,
        accepted: 0,
        duplicates: 0,
        rejects: Vec::new(),
        started: Instant::now(),
        drawn: None,
        progress: opts.progress,
        tty: std::io::stderr().is_terminal(),
    };
    let mut reader = Reader::open(&opts.file, format, &fields)?;
    let mut batch: Batch<Item> = Batch::new();
    while let Some(row) = reader.next(&fields)? {
        tally.seen += 1;
        let parsed = row.value.and_then(|v| Item::parse(opts.kind, v));
        let (key, item) = match parsed {
            Ok(p) => p,
            Err(reason) => {
                tally.reject(row.line, row.original, reason);
                continue;
            }
        };
        // A key twice in one transaction is ambiguous for an upsert: the earlier row is
        // written first, and the later one applies on top, as in the file.
        if opts.kind != Kind::Engagements && batch.keys.contains(&key) {
            write(ws, db, opts.kind, &mut batch, &mut tally).await?;
        }
        batch.keys.insert(key);
        batch.rows.push((row.line, row.original, item));
        if batch.rows.len() >= batch_size {
            write(ws, db, opts.kind, &mut batch, &mut tally).await?;
        }
        tally.draw(false);
    }
    write(ws, db, opts.kind, &mut batch, &mut tally).await?;
    tally.draw(true);

    let rejects_file = if tally.rejects.is_empty() {
        None
    } else {
        let path = opts.rejects.clone().unwrap_or_else(|| {
            let mut p = opts.file.clone().into_os_string();
            p.push(match format {
                Format::Csv => ".rejected.csv",
                Format::Ndjson => ".rejected.ndjson",
            });
            PathBuf::from(p)
        });
        tally.rejects.sort_by_key(|r| r.line);
        write_rejects(&path, &opts.file, format, &tally.rejects)?;
        Some(path)
    };
    Ok(Summary {
        rows: total,
        accepted: tally.accepted,
        duplicates: tally.duplicates,
        rejected: tally.rejects.len(),
        rejects_file,
        elapsed: tally.started.elapsed(),
    })
}

/// How often, and how long apart, a batch is retried when the database is briefly away.
const RETRIES: u32 = 5;

/// Writes the batch, emptying it, in one transaction. A row the batch refuses as a whole (a contact naming
/// an account that does not exist) is rejected and the rest written again; an unavailable
/// database is waited for.
async fn write(
    ws: WorkspaceId,
    db: &DatabaseConnection,
    kind: Kind,
    batch: &mut Batch<Item>,
    tally: &mut Tally,
) -> Result<(), ImportError> {
    let mut rows = std::mem::take(&mut batch.rows);
    batch.keys.clear();
    let mut attempt = 0;
    loop {
        let first_line = rows.first().map_or(0, |r| r.0);
        if rows.is_empty() {
            return Ok(());
        }
        let result = match kind {
            Kind::Accounts => upsert::accounts(ws, db, items(&rows, Item::account))
                .await
                .map(|w| (rows.len() - w.unchanged, w.unchanged, Vec::new())),
            Kind::Contacts => upsert::contacts(ws, db, items(&rows, Item::contact))
                .await
                .map(|w| (rows.len() - w.unchanged, w.unchanged, Vec::new())),
            Kind::Engagements => ingest::ingest(ws, db, items(&rows, Item::event), store::now())
                .await
                .map(|o| (o.accepted, o.duplicates, o.rejected)),
        };
        match result {
            Ok((accepted, duplicates, rejected)) => {
                tally.accepted += accepted;
                tally.duplicates += duplicates;
                let mut rows: Vec<Option<(u64, Original, Item)>> =
                    rows.into_iter().map(Some).collect();
                for r in rejected {
                    if let Some((line, original, _)) = rows.get_mut(r.index).and_then(Option::take)
                    {
                        tally.reject(line, original, r.reason);
                    }
                }
                return Ok(());
            }
            Err(AppError::BadUserInput { field, message }) => match item_at(&field) {
                Some((i, name)) if i < rows.len() => {
                    let (line, original, _) = rows.remove(i);
                    tally.reject(line, original, format!("{name}: {message}"));
                }
                _ => {
                    return Err(ImportError::Write {
                        line: first_line,
                        done: tally.accepted + tally.duplicates,
                        error: AppError::BadUserInput { field, message },
                    });
                }
            },
            Err(AppError::Unavailable(e)) if attempt < RETRIES => {
                attempt += 1;
                let wait = Duration::from_millis(500 << attempt);
                tracing::warn!(error = %e, ?wait, "database unavailable; retrying the batch");
                tokio::time::sleep(wait).await;
            }
            Err(error) => {
                return Err(ImportError::Write {
                    line: first_line,
                    done: tally.accepted + tally.duplicates,
                    error,
                });
            }
        }
    }
}

/// The batch's items of one kind (a batch holds one kind only).
fn items<T: Clone>(rows: &[(u64, Original, Item)], pick: fn(&Item) -> Option<&T>) -> Vec<T> {
    rows.iter().filter_map(|r| pick(&r.2)).cloned().collect()
}

/// `input[3].accountDomain` → (3, "accountDomain").
fn item_at(field: &str) -> Option<(usize, &str)> {
    let rest = field.strip_prefix("input[")?;
    let (index, name) = rest.split_once("].")?;
    Some((index.parse().ok()?, name))
}

/// The rejected rows in the file's own format, each with its line and reason first, so the
/// file can be fixed and imported again once those two columns are dropped.
fn write_rejects(
    path: &Path,
    source: &Path,
    format: Format,
    rejects: &[Reject],
) -> Result<(), ImportError> {
    let out = BufWriter::new(File::create(path)?);
    match format {
        Format::Csv => {
            let header = csv::ReaderBuilder::new()
                .trim(csv::Trim::Headers)
                .from_path(source)
                .and_then(|mut r| r.headers().cloned())
                .map_err(bad_csv)?;
            let mut w = csv::Writer::from_writer(out);
            let mut head = csv::StringRecord::from(vec!["line", "reason"]);
            head.extend(header.iter());
            w.write_record(&head).map_err(csv_io)?;
            for r in rejects {
                let mut rec = csv::StringRecord::from(vec![r.line.to_string(), r.reason.clone()]);
                if let Original::Csv(original) = &r.original {
                    rec.extend(original.iter());
                }
                w.write_record(&rec).map_err(csv_io)?;
            }
            w.flush()?;
        }
        Format::Ndjson => {
            let mut w = out;
            for r in rejects {
                let record = match &r.original {
                    Original::Json(j) => j.clone(),
                    Original::Csv(_) => serde_json::Value::Null,
                };
                let line =
                    serde_json::json!({"line": r.line, "reason": r.reason, "record": record});
                writeln!(w, "{line}")?;
            }
            w.flush()?;
        }
    }
    Ok(())
}

fn csv_io(e: csv::Error) -> ImportError {
    ImportError::Io(std::io::Error::other(e.to_string()))
}
