//! IMS image writes beyond tags: `UpdateImage`'s name and description.

use super::model::Image;
use super::{Store, now};
use crate::store::ims::ImsError;

/// The image fields `UpdateImage` changes (`None`: keep).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ImagePatch {
    /// `name`.
    pub(crate) name: Option<String>,
    /// `__description`.
    pub(crate) description: Option<String>,
}

impl Store {
    /// `UpdateImage`: changes the name and description of an image (its
    /// `updated_at` becomes now when anything changes) and returns it.
    pub(crate) fn update_image(
        &self,
        project_id: &str,
        image_id: &str,
        patch: &ImagePatch,
    ) -> Result<Image, ImsError> {
        let mut inner = self.write();
        let not_found = || ImsError::ImageNotFound(image_id.to_owned());
        let project = inner.projects.get_mut(project_id).ok_or_else(not_found)?;
        let at = *project.index.get(image_id).ok_or_else(not_found)?;
        let image = &mut project.images[at];
        let mut changed = false;
        if let Some(name) = &patch.name
            && *image.name != **name
        {
            image.name = name.as_str().into();
            changed = true;
        }
        if let Some(d) = &patch.description
            && *image.description != **d
        {
            image.description = d.as_str().into();
            changed = true;
        }
        if changed {
            image.updated_at = now();
        }
        let image = image.clone();
        if changed {
            inner.mark_image(project_id, image_id);
        }
        Ok(image)
    }
}
