//! Trims a TZif file (RFC 8536, version 2 or later) to the transitions a
//! cutoff onwards needs. Shared by `build.rs`, which trims the bundled
//! IANA database, and by the crate's tests.
//!
//! Hand-written because no crate writes TZif: jiff only reads it.

/// 2000-01-01T00:00:00Z: the bundled zones keep their transitions from the
/// last one at or before this instant on.
pub const CUTOFF_S: i64 = 946_684_800;

/// Bytes of a TZif header.
const HEADER: usize = 44;

/// The six counts of a TZif header.
struct Counts {
    isut: usize,
    isstd: usize,
    leap: usize,
    time: usize,
    types: usize,
    chars: usize,
}

impl Counts {
    fn read(b: &[u8]) -> Result<Counts, &'static str> {
        let head = b.get(..HEADER).ok_or("TZif header cut short")?;
        if &head[..4] != b"TZif" {
            return Err("not TZif");
        }
        let n = |i: usize| {
            let mut word = [0u8; 4];
            word.copy_from_slice(&head[20 + 4 * i..24 + 4 * i]);
            u32::from_be_bytes(word) as usize
        };
        Ok(Counts { isut: n(0), isstd: n(1), leap: n(2), time: n(3), types: n(4), chars: n(5) })
    }

    /// Bytes of the data block that follows a header, for 4- or 8-byte times.
    fn block(&self, time_size: usize) -> usize {
        self.time * (time_size + 1) + self.types * 6 + self.chars + self.leap * (time_size + 4) + self.isstd + self.isut
    }
}

/// Splits `n` bytes off the front of `b`.
fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], &'static str> {
    if n > b.len() {
        return Err("TZif data cut short");
    }
    let (head, rest) = b.split_at(n);
    *b = rest;
    Ok(head)
}

/// `data` without the transitions before the last one at or before `cutoff`
/// (Unix seconds). Local time from that transition on is unchanged; before
/// it, the zone reads the local time type that transition starts (it
/// becomes type 0, which RFC 8536 applies before the first transition).
/// Data with no transition at or before `cutoff` comes back as it is.
pub fn trim(data: &[u8], cutoff: i64) -> Result<Vec<u8>, &'static str> {
    let v1 = Counts::read(data)?;
    if data[4] < b'2' {
        return Err("TZif version 1 has no 64-bit block");
    }
    let v1_len = HEADER + v1.block(4);
    let mut rest = data.get(v1_len..).ok_or("TZif data cut short")?;
    let head = take(&mut rest, HEADER)?;
    let c = Counts::read(head)?;
    if c.leap != 0 {
        return Err("leap seconds are not kept");
    }
    let times: Vec<i64> = take(&mut rest, 8 * c.time)?
        .chunks_exact(8)
        .map(|w| i64::from_be_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
        .collect();
    let index = take(&mut rest, c.time)?;
    let types = take(&mut rest, 6 * c.types)?;
    let chars = take(&mut rest, c.chars)?;
    let isstd = take(&mut rest, c.isstd)?;
    let isut = take(&mut rest, c.isut)?;
    let footer = rest;
    if index.iter().any(|&i| usize::from(i) >= c.types) || !(c.isstd == 0 || c.isstd == c.types) || !(c.isut == 0 || c.isut == c.types) {
        return Err("TZif indices out of range");
    }
    let Some(first) = times.iter().rposition(|&t| t <= cutoff) else {
        return Ok(data.to_vec());
    };
    let kept = &index[first..];
    // Types in order of first use, so the first kept transition's is type 0.
    let mut order: Vec<u8> = Vec::new();
    for &i in kept {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    let place = |i: u8| order.iter().position(|&o| o == i).unwrap_or(0) as u8;
    let mut out = data[..v1_len].to_vec();
    out.extend_from_slice(&head[..20]);
    let indicators = |n: usize| if n == 0 { 0 } else { order.len() };
    for n in [indicators(c.isut), indicators(c.isstd), 0, kept.len(), order.len(), c.chars] {
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    for t in &times[first..] {
        out.extend_from_slice(&t.to_be_bytes());
    }
    out.extend(kept.iter().map(|&i| place(i)));
    for &i in &order {
        let at = 6 * usize::from(i);
        out.extend_from_slice(&types[at..at + 6]);
    }
    out.extend_from_slice(chars);
    for flags in [isstd, isut] {
        if !flags.is_empty() {
            out.extend(order.iter().map(|&i| flags[usize::from(i)]));
        }
    }
    out.extend_from_slice(footer);
    Ok(out)
}
