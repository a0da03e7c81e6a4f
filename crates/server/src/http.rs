//! Reading requests: headers, cookies, the bearer token, multipart uploads, and the size limits.

use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::http::{HeaderMap, StatusCode, header};

use crate::error::ApiError;

/// A JSON body larger than this is refused with 413.
pub const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// An upload (a spreadsheet, a deliverable's file) larger than this is refused with 413.
pub const UPLOAD_LIMIT: usize = 20 * 1024 * 1024;

/// The cookie that carries a signed-in browser's token (HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "huichang_session";

/// A header's value when it is text.
pub fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_owned())
    })
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = header_text(headers, header::AUTHORIZATION.as_str())?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_owned())
}

/// The body is a `multipart/form-data` form.
pub fn is_multipart(headers: &HeaderMap) -> bool {
    header_text(headers, header::CONTENT_TYPE.as_str()).is_some_and(|v| v.starts_with("multipart/form-data"))
}

/// What axum says of a form it cannot read, whether at its start or in a field.
pub trait FormFailure {
    fn status(&self) -> StatusCode;
    fn body_text(&self) -> String;
}

impl FormFailure for MultipartRejection {
    fn status(&self) -> StatusCode {
        MultipartRejection::status(self)
    }

    fn body_text(&self) -> String {
        MultipartRejection::body_text(self)
    }
}

impl FormFailure for MultipartError {
    fn status(&self) -> StatusCode {
        MultipartError::status(self)
    }

    fn body_text(&self) -> String {
        MultipartError::body_text(self)
    }
}

/// A form that could not be read: 413 past [`UPLOAD_LIMIT`], else 400.
pub fn multipart_error(error: impl FormFailure) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the upload is larger than 20 MiB")
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_multipart", error.body_text())
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_session_cookie_is_read_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; huichang_session=hcc_abc; huichang_lang=en"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("hcc_abc"));
        assert_eq!(cookie(&headers, "huichang_lang").as_deref(), Some("en"));
        assert_eq!(cookie(&headers, "b"), None);
    }
}
