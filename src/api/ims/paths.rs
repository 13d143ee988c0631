//! The IMS path parameters and their rules: a project id is checked
//! before any handler runs ([`Checked`](crate::api::common::Checked)).

use serde::Deserialize;

use crate::api::common::PathParams;
use crate::error::{ApiError, ApiResult};

/// `{project_id}`.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct ProjectPath(String);

impl PathParams for ProjectPath {
    /// The project id.
    type Checked = String;

    fn check(self) -> ApiResult<String> {
        check_project_id(&self.0)?;
        Ok(self.0)
    }
}

/// `{project_id}` and `{image_id}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ImagePath {
    project_id: String,
    image_id: String,
}

impl PathParams for ImagePath {
    /// The project id and the image id.
    type Checked = (String, String);

    fn check(self) -> ApiResult<(String, String)> {
        check_project_id(&self.project_id)?;
        Ok((self.project_id, self.image_id))
    }
}

/// `{project_id}`, `{image_id}` and `{key}`.
#[derive(Debug, Deserialize)]
pub(crate) struct TagKeyPath {
    project_id: String,
    image_id: String,
    key: String,
}

impl PathParams for TagKeyPath {
    /// The project id, the image id and the tag key.
    type Checked = (String, String, String);

    fn check(self) -> ApiResult<(String, String, String)> {
        check_project_id(&self.project_id)?;
        Ok((self.project_id, self.image_id, self.key))
    }
}

/// Rejects project ids the real service could never have issued.
pub(crate) fn check_project_id(id: &str) -> ApiResult<()> {
    let valid = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else if id == "{project_id}" {
        // What the SDK sends when BasicCredentials has no project_id.
        Err(ApiError::bad_request(
            "The project ID is incorrect: the path holds the literal {project_id}; give BasicCredentials a project_id.",
        )
        .with_code("IMG.0067"))
    } else {
        Err(ApiError::bad_request(format!(
            "The project ID is incorrect: {id:?} does not match ^[A-Za-z0-9_-]{{1,64}}$."
        ))
        .with_code("IMG.0067"))
    }
}
