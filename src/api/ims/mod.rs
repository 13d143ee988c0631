//! IMS (Image Management Service) APIs, one file per API page.
//!
//! - [`tags`]: `ListImagesTags`, `GET /v2/{project_id}/images/tags`, and the
//!   v2 image tag writes.
//! - [`search`]: `ListImageByTags`, `POST /v2/{project_id}/images/resource_instances/action`.
//! - [`v1`]: the v1 (`/v1/cloudimages/…`) tag APIs.
//! - [`admin`]: the admin route that adds an image (`/_mock/ims/…`).
//! - [`images`]: `ListImages`, `UpdateImage` (`/v2/cloudimages`).
//! - [`glance_images`]: `GlanceShowImage`, `GlanceListImages` (`/v2/images`).
//! - [`glance`]: the OpenStack Image v2 tag routes (`/v2/images/{image_id}/tags/{tag}`).
//! - [`paths`]: the path parameters (project and image ids) and their rules.

pub(crate) mod admin;
pub(crate) mod glance;
pub(crate) mod glance_images;
pub(crate) mod images;
pub(crate) mod paths;
pub(crate) mod search;
pub(crate) mod tags;
pub(crate) mod v1;
