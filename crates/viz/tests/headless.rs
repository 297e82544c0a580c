//! Headless renders checked by pixels, and against reference images.
//!
//! Reference images live in tests/reference/. After an intended change of
//! the drawing, regenerate them with
//! `RUMOR_VIZ_BLESS=1 cargo test -p rumor-viz --test headless` and look at them.

mod common;

use std::path::PathBuf;

use common::{CRASH, replay};
use rumor_viz::palette::{self, status_colour};
use rumor_viz::{FrameInfo, Headless, Image, Layout, Replay, Scene, Status, Viewpoint};

const W: u32 = 800;
const H: u32 = 500;

fn render(replay: &Replay, at: u64, viewpoint: Viewpoint) -> Image {
    let mut scene = Scene::new(replay);
    scene.seek(replay, at);
    let mut canvas = Headless::new(W, H).expect("a software canvas needs no display");
    let info = FrameInfo {
        viewpoint,
        playing: false,
        speed: 1.0,
    };
    canvas.render(replay, &scene, &info).expect("render")
}

/// The colour at the centre of the member's disc on the ring.
fn marker(replay: &Replay, image: &Image, port: &str) -> [u8; 4] {
    let id = format!("127.0.0.1:{port}#1").parse().unwrap();
    let slot = replay.members()[replay.member_index(&id).unwrap() as usize].slot;
    let (x, y) = Layout::for_replay(W, H, replay).slot_position(slot);
    image.pixel(x.round() as u32, y.round() as u32)
}

fn rgba(status: Status) -> [u8; 4] {
    let c = status_colour(status);
    [c.0, c.1, c.2, c.3]
}

#[test]
fn crashed_member_turns_failed_at_its_detection_and_not_before() {
    let r = replay(CRASH);
    let before = render(&r, 2_999, Viewpoint::Majority);
    let after = render(&r, 3_000, Viewpoint::Majority);
    assert_eq!(marker(&r, &before, "4003"), rgba(Status::Suspected));
    assert_eq!(marker(&r, &after, "4003"), rgba(Status::Failed));
    assert_eq!(marker(&r, &after, "4001"), rgba(Status::Alive));
    let early = render(&r, 1_000, Viewpoint::Majority);
    assert_eq!(marker(&r, &early, "4003"), rgba(Status::Alive));

    // Through 4004's eyes the failure comes at 4.8 s.
    let late_observer = Viewpoint::Observer(
        r.members()[r
            .member_index(&"127.0.0.1:4004#1".parse().unwrap())
            .unwrap() as usize]
            .observer
            .unwrap(),
    );
    assert_eq!(
        marker(&r, &render(&r, 4_799, late_observer), "4003"),
        rgba(Status::Suspected)
    );
    assert_eq!(
        marker(&r, &render(&r, 4_800, late_observer), "4003"),
        rgba(Status::Failed)
    );
}

#[test]
fn detection_edge_flashes_between_observer_and_member() {
    let r = replay(CRASH);
    let layout = Layout::for_replay(W, H, &r);
    let slot = |port: &str| {
        r.members()[r
            .member_index(&format!("127.0.0.1:{port}#1").parse().unwrap())
            .unwrap() as usize]
            .slot
    };
    let (x0, y0) = layout.slot_position(slot("4001"));
    let (x1, y1) = layout.slot_position(slot("4003"));
    let (mx, my) = (
        ((x0 + x1) / 2.0).round() as u32,
        ((y0 + y1) / 2.0).round() as u32,
    );
    let reddish = |p: [u8; 4]| p[0] > 2 * p[1].max(p[2]) && p[0] > 60;
    let lit = |image: &Image| {
        (0..3).any(|d| reddish(image.pixel(mx + d - 1, my)) || reddish(image.pixel(mx, my + d - 1)))
    };
    assert!(
        !lit(&render(&r, 2_999, Viewpoint::Majority)),
        "no edge before the report"
    );
    assert!(
        lit(&render(&r, 3_100, Viewpoint::Majority)),
        "edge right after 4001 reports"
    );
    assert!(
        !lit(&render(
            &r,
            3_000 + rumor_viz::FLASH + 1,
            Viewpoint::Majority
        )),
        "the flash fades"
    );
}

fn reference(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(name)
}

/// Fails if more than 0.2 % of the pixels differ by more than 24 in any channel.
fn assert_close(name: &str, image: &Image) {
    let path = reference(name);
    if std::env::var_os("RUMOR_VIZ_BLESS").is_some() {
        image.write_png(&path).unwrap();
        return;
    }
    let expected = Image::read_png(&path).unwrap_or_else(|e| {
        panic!("{e}; regenerate with RUMOR_VIZ_BLESS=1 cargo test -p rumor-viz --test headless")
    });
    assert_eq!(
        (expected.width, expected.height),
        (image.width, image.height),
        "{name}: size"
    );
    let differing = expected
        .rgba
        .chunks(4)
        .zip(image.rgba.chunks(4))
        .filter(|(a, b)| a.iter().zip(*b).any(|(x, y)| x.abs_diff(*y) > 24))
        .count();
    let allowed = (image.width * image.height) as usize / 500;
    if differing > allowed {
        let actual = std::env::temp_dir().join(format!("rumor-viz-actual-{name}"));
        image.write_png(&actual).unwrap();
        panic!(
            "{name}: {differing} pixels differ (allowed {allowed}); this render is in {}",
            actual.display()
        );
    }
}

#[test]
fn renders_match_the_reference_images() {
    let r = replay(CRASH);
    assert_close(
        "crash-majority-3100ms.png",
        &render(&r, 3_100, Viewpoint::Majority),
    );
    let observer = Viewpoint::Observer(0);
    assert_close(
        "crash-observer-4001-4500ms.png",
        &render(&r, 4_500, observer),
    );
}

#[test]
fn background_and_panel_use_the_palette() {
    let r = replay(CRASH);
    let image = render(&r, 0, Viewpoint::Majority);
    let bg = palette::BACKGROUND;
    assert_eq!(image.pixel(W / 3, 3 * H / 4 - 40), [bg.0, bg.1, bg.2, 255]);
    let panel = palette::PANEL;
    assert_eq!(
        image.pixel(W - 3, H / 2 + 30),
        [panel.0, panel.1, panel.2, 255]
    );
}

#[test]
fn a_restarted_node_shows_its_new_version_on_the_ring_and_the_failed_one_inside() {
    let mut lines = CRASH.to_vec();
    lines.extend([
        (2_900, "4003#2", "joined", "4003#2"),
        (3_050, "4001", "joined", "4003#2"),
        (3_060, "4002", "joined", "4003#2"),
        (3_070, "4004", "joined", "4003#2"),
    ]);
    let r = replay(&lines);
    let image = render(&r, 4_100, Viewpoint::Majority);
    let layout = Layout::for_replay(W, H, &r);
    let slot = r.members()[r
        .member_index(&"127.0.0.1:4003#2".parse().unwrap())
        .unwrap() as usize]
        .slot;
    let (x, y) = layout.slot_position(slot);
    assert_eq!(
        image.pixel(x.round() as u32, y.round() as u32),
        rgba(Status::Alive)
    );
    // Walk inwards from the ring towards the centre: the old version's disc.
    let (cx, cy) = layout.centre;
    let found = (1..120).any(|step| {
        let t = step as f32 / 240.0;
        let (px, py) = (x + (cx - x) * t, y + (cy - y) * t);
        image.pixel(px.round() as u32, py.round() as u32) == rgba(Status::Failed)
    });
    assert!(found, "the failed earlier version is drawn inside the ring");
    let halo = palette::RESTARTED;
    let ring_pixel = image.pixel(
        (x + layout.member_radius + 1.5).round() as u32,
        y.round() as u32,
    );
    assert_eq!(
        ring_pixel,
        [halo.0, halo.1, halo.2, 255],
        "new version has the restart halo"
    );
}
