//! Files compiled into the binary: the pipeline board at `/` and an offline GraphiQL on
//! `GET /graphql`. One binary serves both, with no CDN, asset directory or build step.

use std::hash::{Hash as _, Hasher as _};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::state::AppState;

/// One served file.
pub struct Asset {
    pub name: &'static str,
    pub body: &'static [u8],
    pub content_type: &'static str,
    /// The name carries the version (vendored files): a browser may keep it for a year. Our
    /// own files change with every release under the same name, so they are revalidated.
    pub versioned: bool,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

macro_rules! asset {
    ($dir:literal, $name:literal, $ct:expr, $versioned:expr) => {
        Asset {
            name: $name,
            body: include_bytes!(concat!("../assets/", $dir, "/", $name)),
            content_type: $ct,
            versioned: $versioned,
        }
    };
}

/// `GET /`.
pub const BOARD_PAGE: Asset = asset!("board", "index.html", HTML, false);

/// Under `/assets/board/`.
pub const BOARD: &[Asset] = &[
    asset!("board", "board.css", CSS, false),
    asset!("board", "board.js", JS, false),
    asset!("board", "operations.js", JS, false),
    asset!("board", "live.js", JS, false),
];

/// `GET /graphql` from a browser, unless GraphiQL is off.
pub const GRAPHIQL_PAGE: Asset = asset!("graphiql", "index.html", HTML, false);

/// Under `/assets/graphiql/`, unless GraphiQL is off. The vendored builds keep their version
/// in the name (`api/assets/graphiql/VENDORED.md` says where they come from).
pub const GRAPHIQL: &[Asset] = &[
    asset!("graphiql", "start.js", JS, false),
    asset!("graphiql", "graphiql-3.8.3.min.js", JS, true),
    asset!("graphiql", "graphiql-3.8.3.min.css", CSS, true),
    asset!("graphiql", "react-18.3.1.production.min.js", JS, true),
    asset!("graphiql", "react-dom-18.3.1.production.min.js", JS, true),
    asset!("graphiql", "LICENSE.graphiql.txt", TEXT, true),
    asset!("graphiql", "LICENSE.react.txt", TEXT, true),
    asset!("graphiql", "LICENSE.react-dom.txt", TEXT, true),
];

/// The board's scripts, styles and sockets come from this origin only, so a stray external
/// reference fails in the browser as well as in the tests. (`'self'` covers same-origin
/// WebSockets in CSP 3.)
const BOARD_CSP: &str = "default-src 'self'; img-src 'self' data:; connect-src 'self'; \
                         object-src 'none'; base-uri 'none'; form-action 'self'; \
                         frame-ancestors 'none'";

/// `GET /`: the pipeline board, whether or not GraphiQL is on (the board is only a client).
pub async fn board(req: HttpRequest) -> HttpResponse {
    let mut res = serve(&req, &BOARD_PAGE);
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(BOARD_CSP),
    );
    res
}

/// `GET /assets/board/{name}`.
pub async fn board_asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    find(BOARD, &name).map_or_else(not_found, |a| serve(&req, a))
}

/// `GET /assets/graphiql/{name}`: missing, like the page, when GraphiQL is off.
pub async fn graphiql_asset(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> HttpResponse {
    if !state.config.graphiql {
        return not_found();
    }
    find(GRAPHIQL, &name).map_or_else(not_found, |a| serve(&req, a))
}

/// The GraphiQL page; the caller checks that GraphiQL is on.
pub fn graphiql_page(req: &HttpRequest) -> HttpResponse {
    serve(req, &GRAPHIQL_PAGE)
}

fn find<'a>(assets: &'a [Asset], name: &str) -> Option<&'a Asset> {
    assets.iter().find(|a| a.name == name)
}

pub fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type(TEXT)
        .body("not found\n")
}

fn serve(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    let mut builder = if asset.versioned {
        let mut b = HttpResponse::Ok();
        b.insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"));
        b
    } else {
        let tag = etag(asset.body);
        let unchanged = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
        let mut b = if unchanged {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        b.insert_header((header::CACHE_CONTROL, "no-cache"))
            .insert_header((header::ETAG, tag));
        if unchanged {
            return b.finish();
        }
        b
    };
    builder
        .content_type(asset.content_type)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(asset.body)
}

/// A strong validator of the content. Our files are small; hashing one costs microseconds.
fn etag(body: &[u8]) -> String {
    let mut h = std::hash::DefaultHasher::new();
    body.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}
