//! Raw images inside a structure: each at its `offset`, or right after the previous image; its
//! size the declared `size` or the image file's.

use crate::model::{Content, VolumeStructure};

/// One raw image placed in its structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawContentLayout {
    /// Position in the structure's `content` list.
    pub index: usize,
    pub image: String,
    /// Offset inside the structure; `None` when it follows an image of unknown size.
    pub offset: Option<u64>,
    /// Absolute offset in the volume.
    pub start: Option<u64>,
    /// Bytes the image occupies; `None` when neither declared nor known.
    pub size: Option<u64>,
}

/// Places the raw images of `s` (which starts at `start`). With `image_size`, every image
/// must have a known size; without it, declared sizes are used and the rest stays unknown.
pub(crate) fn lay_out(
    s: &VolumeStructure,
    start: u64,
    emmc: bool,
    image_size: Option<super::ImageSizes<'_>>,
) -> Result<Vec<RawContentLayout>, String> {
    let mut out = Vec::new();
    let mut previous_end = Some(0u64);
    for (index, c) in s.content.iter().enumerate() {
        let Content::Raw {
            image,
            offset,
            size,
            ..
        } = c
        else {
            continue;
        };
        let file_size = match image_size {
            Some(lookup) => Some(
                lookup(image).ok_or_else(|| format!("content {image:?}: image size unknown"))?,
            ),
            None => None,
        };
        let size = match (*size, file_size) {
            (Some(declared), Some(actual)) if declared < actual => {
                return Err(format!(
                    "content {image:?} size {actual} is larger than declared {declared}"
                ));
            }
            (Some(declared), _) => Some(declared),
            (None, actual) => actual,
        };
        let offset = offset.or(previous_end);
        let end = match (offset, size) {
            (Some(o), Some(n)) => Some(
                o.checked_add(n)
                    .ok_or_else(|| format!("content {image:?} ends past the largest offset"))?,
            ),
            _ => None,
        };
        // eMMC hardware partitions are sized by the device, not the gadget.
        if !emmc && end.is_some_and(|e| e > s.size) {
            return Err(format!("content {image:?} does not fit in the structure"));
        }
        previous_end = end;
        out.push(RawContentLayout {
            index,
            image: image.clone(),
            offset,
            start: offset.and_then(|o| start.checked_add(o)),
            size,
        });
    }

    let mut placed: Vec<&RawContentLayout> = out
        .iter()
        .filter(|c| c.offset.is_some() && c.size.is_some())
        .collect();
    placed.sort_by_key(|c| c.offset);
    for pair in placed.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let a_end = a.offset.unwrap_or(0).saturating_add(a.size.unwrap_or(0));
        if b.offset.unwrap_or(0) < a_end {
            return Err(format!(
                "content {:?} overlaps with preceding image {:?}",
                b.image, a.image
            ));
        }
    }
    Ok(out)
}
