//! Shared by the targets: turns fuzz bytes into an HTTP response.
//!
//! Byte 0 picks the status, byte 1 the content type; the rest is the body.

pub fn response(data: &[u8]) -> http::Response<Vec<u8>> {
    const STATUSES: [u16; 8] = [200, 201, 204, 302, 400, 401, 500, 503];
    const TYPES: [&str; 4] = [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/html",
        "application/json; charset=utf-8",
    ];
    let status = STATUSES[usize::from(data.first().copied().unwrap_or(0)) % STATUSES.len()];
    let content_type = TYPES[usize::from(data.get(1).copied().unwrap_or(0)) % TYPES.len()];
    let body = data.get(2..).unwrap_or_default().to_vec();
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}
