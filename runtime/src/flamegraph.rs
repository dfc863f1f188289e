//! Flame graphs as SVG (`--profile out.svg`), drawn from folded stacks (`main;foo;bar 123`).
//!
//! The classic layout: the whole run at the bottom, each call above its caller, widths in
//! proportion to the instructions counted under a stack, callees of one caller in name order
//! (so the picture depends on the counts only, not on the order calls happened). Every frame
//! has a tooltip with its name, its instructions and its share of the run. The output is a
//! pure function of its input: the same profile draws the same bytes on every host.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The picture's width in pixels.
const WIDTH: f64 = 1200.0;
/// A frame's height in pixels.
const FRAME: f64 = 16.0;
/// Room above the frames for the title.
const TOP: f64 = 36.0;
/// Frames narrower than this many pixels are left out (their instructions stay in their
/// callers' widths).
const MIN_WIDTH: f64 = 0.1;
/// The font's average advance at 12px, for fitting names into frames.
const CHAR: f64 = 7.0;

/// One frame of the merged call tree.
#[derive(Default)]
struct Frame {
    /// Instructions counted in this stack and those above it.
    total: u64,
    children: BTreeMap<String, Frame>,
}

impl Frame {
    fn depth(&self) -> usize {
        self.children
            .values()
            .map(|c| 1 + c.depth())
            .max()
            .unwrap_or(0)
    }
}

/// The folded stacks `folded` (one `frame;frame;... count` per line; lines that do not parse
/// are skipped) as an SVG flame graph titled `title`.
pub fn svg(folded: &str, title: &str) -> String {
    let mut root = Frame::default();
    for line in folded.lines() {
        let Some((stack, count)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(count) = count.parse::<u64>() else {
            continue;
        };
        root.total += count;
        let mut at = &mut root;
        for name in stack.split(';') {
            at = at.children.entry(name.to_string()).or_default();
            at.total += count;
        }
    }
    let levels = root.depth() + 1;
    let height = TOP + FRAME * levels as f64 + 8.0;
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" standalone=\"no\"?>\n\
         <svg version=\"1.1\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\n\
         <rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#f8f8f0\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-family=\"Verdana, sans-serif\" \
         font-size=\"16\">{}</text>\n\
         <g font-family=\"Verdana, sans-serif\" font-size=\"12\">\n",
        WIDTH / 2.0,
        escape(title)
    );
    if root.total > 0 {
        let scale = (WIDTH - 20.0) / root.total as f64;
        let mut draw = Draw {
            out: &mut out,
            scale,
            total: root.total,
            bottom: height - 8.0 - FRAME,
        };
        draw.frame("all", &root, 10.0, 0);
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// Where frames are drawn.
struct Draw<'a> {
    out: &'a mut String,
    /// Pixels per instruction.
    scale: f64,
    total: u64,
    /// The top of the bottom row.
    bottom: f64,
}

impl Draw<'_> {
    /// Draws `frame` (called `name`) at `x`, `level` rows up, and its callees above it.
    fn frame(&mut self, name: &str, frame: &Frame, x: f64, level: usize) {
        let width = frame.total as f64 * self.scale;
        if width < MIN_WIDTH {
            return;
        }
        let y = self.bottom - FRAME * level as f64;
        let share = 100.0 * frame.total as f64 / self.total as f64;
        let (r, g, b) = color(name);
        let _ = write!(
            self.out,
            "<g><title>{} ({} instructions, {share:.2}%)</title>\
             <rect x=\"{x:.2}\" y=\"{y}\" width=\"{width:.2}\" height=\"{}\" \
             fill=\"rgb({r},{g},{b})\" rx=\"2\"/>",
            escape(name),
            frame.total,
            FRAME - 1.0
        );
        let fits = ((width - 6.0) / CHAR).floor();
        if fits >= 3.0 {
            let fits = fits as usize;
            let shown: String = if name.chars().count() > fits {
                let mut s: String = name.chars().take(fits - 2).collect();
                s.push_str("..");
                s
            } else {
                name.to_string()
            };
            let _ = write!(
                self.out,
                "<text x=\"{:.2}\" y=\"{}\">{}</text>",
                x + 3.0,
                y + FRAME - 4.5,
                escape(&shown)
            );
        }
        self.out.push_str("</g>\n");
        let mut left = x;
        for (child_name, child) in &frame.children {
            self.frame(child_name, child, left, level + 1);
            left += child.total as f64 * self.scale;
        }
    }
}

/// A warm colour chosen by the name (FNV-1a), so a function has the same colour everywhere.
fn color(name: &str) -> (u8, u8, u8) {
    let mut hash: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    let r = 205 + (hash % 50) as u8;
    let g = ((hash >> 8) % 230) as u8;
    let b = ((hash >> 16) % 55) as u8;
    (r, g, b)
}

/// `text` with XML's special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `(name, x, width)` of every frame drawn, from its tooltip and rectangle.
    fn frames(svg: &str) -> Vec<(String, f64, f64)> {
        let mut out = Vec::new();
        for part in svg.split("<g><title>").skip(1) {
            let name = part[..part.find(" (").unwrap()].to_string();
            let attr = |key: &str| -> f64 {
                let at = part.find(&format!(" {key}=\"")).unwrap() + key.len() + 3;
                let end = at + part[at..].find('"').unwrap();
                part[at..end].parse().unwrap()
            };
            out.push((name, attr("x"), attr("width")));
        }
        out
    }

    #[test]
    fn widths_follow_the_counts_and_callees_sit_in_name_order() {
        let svg = svg("main;b 300\nmain;a 100\nmain 600\nother 1000\n", "t");
        let got = frames(&svg);
        let names: Vec<&str> = got.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names, ["all", "main", "a", "b", "other"]);
        let width = |n: &str| got.iter().find(|f| f.0 == n).unwrap().2;
        let x = |n: &str| got.iter().find(|f| f.0 == n).unwrap().1;
        assert!((width("all") - 1180.0).abs() < 0.01);
        assert!((width("main") - 590.0).abs() < 0.01);
        assert!((width("b") - 3.0 * width("a")).abs() < 0.02);
        // `a` starts where `main` does; `b` right after `a`; `other` after `main`.
        assert!((x("a") - x("main")).abs() < 0.01);
        assert!((x("b") - (x("a") + width("a"))).abs() < 0.02);
        assert!((x("other") - (x("main") + width("main"))).abs() < 0.02);
        assert!(svg.contains("(1000 instructions, 50.00%)"));
    }

    #[test]
    fn names_are_escaped_and_tiny_frames_left_out() {
        let svg = svg(
            "<Vec<u8> as Drop>::drop 1000000000\ntiny 1\nbad line\n",
            "a & b",
        );
        assert!(svg.contains("&lt;Vec&lt;u8&gt; as Drop&gt;::drop"));
        assert!(svg.contains(">a &amp; b</text>"));
        assert!(!svg.contains("tiny"));
        assert!(!svg.contains('\u{1}'));
        // Every element opened is closed.
        assert_eq!(svg.matches("<g").count(), svg.matches("</g>").count());
    }

    #[test]
    fn an_empty_profile_is_an_empty_picture() {
        let svg = svg("", "empty");
        assert!(svg.starts_with("<?xml") && svg.ends_with("</svg>\n"));
        assert!(frames(&svg).is_empty());
    }
}
