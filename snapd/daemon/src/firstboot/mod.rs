//! First boot (seeding): a daemon started on a freshly built image installs the snaps of the
//! image's seed (`var/lib/snapd/seed/`: `seed.yaml` and `snaps/`, as `snap-image` writes it)
//! in one `seed` change, applies the gadget's `system` defaults and connections, and records
//! `seeded: true`. The change is an ordinary one: it resumes after a crash and undoes every
//! snap when any task fails; an unseeded device tries again at every start
//! (`spec/first-boot.md`).

pub mod gadget;
pub mod handlers;
pub mod seed;
pub mod start;

use snap_state::State;

/// The change's kind (snapd's).
pub const CHANGE_KIND: &str = "seed";
/// The state keys snapd uses.
pub const SEEDED_KEY: &str = "seeded";
pub const SEED_TIME_KEY: &str = "seed-time";
/// The task kinds that follow the install chains.
pub const GADGET_CONNECT: &str = "gadget-connect";
pub const MARK_SEEDED: &str = "mark-seeded";

/// Whether the device has been seeded (a device without a seed never is, as in snapd).
pub fn is_seeded(st: &State) -> bool {
    st.get::<bool>(SEEDED_KEY).ok().flatten().unwrap_or(false)
}
