//! HTTP endpoints: GraphQL over HTTP (POST, and GET for queries), GraphiQL, health.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request, Response, ServerError};
use serde::Deserialize;

use crate::auth::Caller;
use crate::graphql::QuorumSchema;
use crate::graphql::loader::RequestLoaders;
use crate::state::AppState;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The caller named by the `Authorization: Bearer …` header.
pub fn caller(req: &HttpRequest, state: &AppState) -> Caller {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Caller::Anonymous;
    };
    let token = value.to_str().ok().and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    match token.map(|t| state.keys.verify(t)) {
        Some(Ok(v)) => Caller::Viewer(v),
        _ => Caller::BadToken,
    }
}

/// Adds what resolvers need for this caller: who they are and their workspace's loaders.
/// `db` is the pool the request's loaders read through (a socket's, the live pool).
pub(crate) fn prepare(
    req: Request,
    caller: Caller,
    state: &AppState,
    db: &sea_orm::DatabaseConnection,
) -> Request {
    let req = req.data(caller);
    match caller {
        Caller::Viewer(v) => req.data(Arc::new(RequestLoaders::new(
            db.clone(),
            v.workspace_id,
            state.config.loader_window(),
        ))),
        _ => req,
    }
}

pub async fn graphql_post(
    schema: web::Data<QuorumSchema>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| {
            ct.starts_with("application/json") || ct.starts_with("application/graphql+json")
        });
    if !is_json {
        return request_error(
            &req,
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as application/json",
        );
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return request_error(
                &req,
                actix_web::http::StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {e}"),
            );
        }
    };
    let caller = caller(&req, &state);
    // A mutation may have committed outbox events: the relay looks now rather than at its next
    // poll. (Reads cost nothing here; a nudge that finds nothing costs one indexed query.)
    let mutates = match &batch {
        BatchRequest::Single(one) => !is_query(&one.query, one.operation_name.as_deref()),
        BatchRequest::Batch(many) => many
            .iter()
            .any(|one| !is_query(&one.query, one.operation_name.as_deref())),
    };
    let response = match batch {
        BatchRequest::Single(one) => BatchResponse::Single(
            schema
                .execute(prepare(one, caller, &state, &state.db))
                .await,
        ),
        BatchRequest::Batch(many) => {
            let max = state.config.max_batch;
            if many.is_empty() || many.len() > max {
                let msg = format!("a batch holds 1 to {max} operations, not {}", many.len());
                return request_error(&req, actix_web::http::StatusCode::BAD_REQUEST, &msg);
            }
            let mut out = Vec::with_capacity(many.len());
            // In order: a later operation may depend on an earlier mutation.
            for one in many {
                out.push(
                    schema
                        .execute(prepare(one, caller, &state, &state.db))
                        .await,
                );
            }
            BatchResponse::Batch(out)
        }
    };
    if mutates {
        state.bus.nudge();
    }
    respond(&req, response)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
}

/// `GET /graphql`: a query in the URL, or GraphiQL (`api/assets/graphiql/`) for a browser.
pub async fn graphql_get(
    schema: web::Data<QuorumSchema>,
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<GetParams>,
) -> HttpResponse {
    let params = params.into_inner();
    let Some(query) = params.query else {
        if state.config.graphiql {
            return crate::assets::graphiql_page(&req);
        }
        // With GraphiQL off there is no page here; API clients still learn what is missing.
        if accepts_html(&req) {
            return crate::assets::not_found();
        }
        return request_error(
            &req,
            actix_web::http::StatusCode::BAD_REQUEST,
            "missing the `query` parameter",
        );
    };
    // GET must not change anything: caches, prefetchers and link previews follow GET links.
    if !is_query(&query, params.operation_name.as_deref()) {
        let mut res = request_error(
            &req,
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            "only queries may use GET; send mutations with POST",
        );
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return res;
    }
    let mut gql = Request::new(query);
    if let Some(name) = params.operation_name {
        gql = gql.operation_name(name);
    }
    if let Some(vars) = params.variables {
        match serde_json::from_str(&vars) {
            Ok(v) => gql = gql.variables(v),
            Err(_) => {
                return request_error(
                    &req,
                    actix_web::http::StatusCode::BAD_REQUEST,
                    "`variables` is not a JSON object",
                );
            }
        }
    }
    let caller = caller(&req, &state);
    let response = schema
        .execute(prepare(gql, caller, &state, &state.db))
        .await;
    respond(&req, BatchResponse::Single(response))
}

/// True unless the operation that would run is a mutation or subscription. A document that
/// does not parse counts as a query, so its syntax error is reported as usual.
fn is_query(query: &str, operation: Option<&str>) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return true;
    };
    let is = |ty: OperationType| ty == OperationType::Query;
    match (&doc.operations, operation) {
        (DocumentOperations::Single(op), _) => is(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get(name).is_none_or(|op| is(op.node.ty))
        }
        (DocumentOperations::Multiple(ops), None) => ops.values().all(|op| is(op.node.ty)),
    }
}

/// Follows GraphQL over HTTP: with `Accept: application/graphql-response+json`, a request that
/// never ran (parse, validation or limit errors) gets 400; with plain JSON, 200 as before.
fn respond(req: &HttpRequest, mut response: BatchResponse) -> HttpResponse {
    let mut all_request_errors = true;
    match &mut response {
        BatchResponse::Single(r) => all_request_errors &= label(r),
        BatchResponse::Batch(rs) => {
            for r in rs.iter_mut() {
                all_request_errors &= label(r);
            }
        }
    }
    let modern = accepts_graphql_response(req);
    let mut builder = if modern && all_request_errors {
        HttpResponse::BadRequest()
    } else {
        HttpResponse::Ok()
    };
    builder.content_type(if modern {
        GRAPHQL_RESPONSE
    } else {
        "application/json"
    });
    builder.json(response)
}

/// Gives every error an `extensions.code`; returns true when the response is a request error
/// (no data, and errors that belong to no field).
pub(crate) fn label(r: &mut Response) -> bool {
    let request_error = !r.errors.is_empty()
        && r.data == async_graphql::Value::Null
        && r.errors.iter().all(|e| e.path.is_empty());
    for e in &mut r.errors {
        let has_code = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        if !has_code {
            let code = if e.path.is_empty() {
                "GRAPHQL_VALIDATION_FAILED"
            } else {
                "INTERNAL"
            };
            if code == "INTERNAL" {
                tracing::error!(message = %e.message, "resolver error without a code");
                e.message = "internal error".into();
            }
            e.extensions
                .get_or_insert_with(Default::default)
                .set("code", code);
        }
    }
    request_error
}

/// A browser navigating here, rather than an API client.
fn accepts_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn accepts_graphql_response(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(GRAPHQL_RESPONSE))
}

/// A GraphQL-shaped error for a request that could not be run at all.
fn request_error(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    message: &str,
) -> HttpResponse {
    let mut err = ServerError::new(message, None);
    err.extensions
        .get_or_insert_with(Default::default)
        .set("code", "BAD_REQUEST");
    let body = Response::from_errors(vec![err]);
    let ct = if accepts_graphql_response(req) {
        GRAPHQL_RESPONSE
    } else {
        "application/json"
    };
    HttpResponse::build(status).content_type(ct).json(body)
}

/// The process is up. Says nothing about the database, so an outage does not get healthy
/// instances restarted.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database answers and the instance is not shutting down: it can take traffic.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    // While in-flight requests drain, a load balancer polling on a kept-alive connection
    // must stop sending new ones here.
    if *state.shutdown.borrow() {
        return HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "draining" }));
    }
    let timeout = std::time::Duration::from_millis(state.config.db_acquire_timeout_ms.max(100));
    match tokio::time::timeout(timeout, state.db.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: database");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "unavailable", "database": "unreachable" }))
        }
        Err(_) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "unavailable", "database": "timeout" })),
    }
}
