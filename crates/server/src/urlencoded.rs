//! `application/x-www-form-urlencoded` decoded in place, while the body arrives: each chunk
//! is appended to one buffer and decoded into the front of that same buffer, so a 6 MB
//! base64 image is neither copied again nor decoded after the last byte came in.
//!
//! Decodes as `form_urlencoded::parse` does: `+` is a space, `%XX` a byte, a bad escape
//! stays as it is; keys and short values become text (invalid UTF-8 replaced).

use bytes::BytesMut;

/// Values at least this long (and ASCII) stay in the body's buffer rather than in a String.
pub const LONG: usize = 64 * 1024;

/// One decoded value.
#[derive(Debug)]
pub enum FormValue {
    Text(String),
    /// A long ASCII value, where it was decoded.
    Long(BytesMut),
}

/// The incremental decoder. Raw bytes not yet decoded are `buf[read..]`; decoded ones are
/// `buf[..write]`, never ahead of `read`.
#[derive(Debug, Default)]
pub struct FormDecoder {
    buf: BytesMut,
    read: usize,
    write: usize,
    in_value: bool,
    /// Decoded offsets of the current pair: its start and the end of its key.
    start: usize,
    key_end: usize,
    /// Raw offset of the current pair (a pair of just `=` decodes to nothing but counts).
    raw_start: usize,
    /// (start, key end, end) of each finished pair, in decoded offsets.
    pairs: Vec<(usize, usize, usize)>,
}

impl FormDecoder {
    /// A decoder whose buffer is sized for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(capacity),
            ..Self::default()
        }
    }

    /// Bytes received so far.
    pub fn received(&self) -> usize {
        self.buf.len() // raw offsets: decoding never moves a byte not yet read
    }

    /// Appends a chunk and decodes as far as it can.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
        self.run(false);
    }

    /// Decodes a whole body held in `buf`.
    pub fn whole(buf: BytesMut) -> Vec<(String, FormValue)> {
        let mut d = Self {
            buf,
            ..Self::default()
        };
        d.finish()
    }

    /// Decodes the rest and returns the pairs in order (later ones win for a repeated key).
    pub fn finish(&mut self) -> Vec<(String, FormValue)> {
        self.run(true);
        self.end_pair();
        let mut decoded = self.buf.split_to(self.write);
        let mut at = 0;
        let mut out = Vec::with_capacity(self.pairs.len());
        for &(start, key_end, end) in &self.pairs {
            let _ = decoded.split_to(start - at);
            let mut value = decoded.split_to(end - start);
            let key = value.split_to(key_end - start);
            at = end;
            let value = if value.len() >= LONG && value.is_ascii() {
                FormValue::Long(value)
            } else {
                FormValue::Text(text(&value))
            };
            out.push((text(&key), value));
        }
        out
    }

    fn run(&mut self, last: bool) {
        loop {
            if self.in_value {
                self.value_blocks();
            }
            let hay = &self.buf[self.read..];
            let found = if self.in_value {
                memchr::memchr3(b'&', b'%', b'+', hay)
            } else {
                hay.iter()
                    .position(|b| matches!(b, b'&' | b'=' | b'%' | b'+'))
            };
            let run = found.unwrap_or(hay.len());
            self.copy(run);
            if found.is_none() {
                return;
            }
            let at = self.read;
            match self.buf[at] {
                b'&' => {
                    self.end_pair();
                    self.read += 1;
                    self.raw_start = self.read;
                }
                b'=' => {
                    self.key_end = self.write;
                    self.in_value = true;
                    self.read += 1;
                }
                b'+' => self.emit(b' ', 1),
                _ if at + 2 >= self.buf.len() && !last => return, // an escape cut by the chunk
                _ => match (hex(&self.buf, at + 1), hex(&self.buf, at + 2)) {
                    (Some(h), Some(l)) => self.emit(h * 16 + l, 3),
                    _ => self.emit(b'%', 1),
                },
            }
        }
    }

    /// Inside a value, 32 bytes at a time: plain blocks are moved whole, and each escape is
    /// found from the block's bitmask. Stops before a `&` and near the end of the data
    /// (two bytes short of a block, so an escape found is always complete).
    fn value_blocks(&mut self) {
        while self.read + BLOCK + 2 <= self.buf.len() {
            let block = &self.buf[self.read..self.read + BLOCK];
            let mask = specials(block);
            let plain = if mask == 0 {
                BLOCK
            } else {
                mask.trailing_zeros() as usize
            };
            if self.read - self.write >= BLOCK {
                // A fixed-size move: the gap keeps it clear of bytes not yet read.
                let (r, w) = (self.read, self.write);
                self.buf.copy_within(r..r + BLOCK, w);
                self.read += plain;
                self.write += plain;
            } else {
                self.copy(plain);
            }
            if mask == 0 {
                continue;
            }
            let at = self.read;
            match self.buf[at] {
                b'&' => return,
                b'+' => self.emit(b' ', 1),
                _ => match (hex(&self.buf, at + 1), hex(&self.buf, at + 2)) {
                    (Some(h), Some(l)) => self.emit(h * 16 + l, 3),
                    _ => self.emit(b'%', 1),
                },
            }
        }
    }

    /// Moves `n` raw bytes to the decoded end.
    fn copy(&mut self, n: usize) {
        if self.read != self.write {
            self.buf.copy_within(self.read..self.read + n, self.write);
        }
        self.read += n;
        self.write += n;
    }

    fn emit(&mut self, byte: u8, used: usize) {
        self.buf[self.write] = byte;
        self.write += 1;
        self.read += used;
    }

    fn end_pair(&mut self) {
        if !self.in_value {
            self.key_end = self.write;
        }
        if self.read > self.raw_start {
            self.pairs.push((self.start, self.key_end, self.write));
        }
        self.start = self.write;
        self.key_end = self.write;
        self.in_value = false;
    }
}

const BLOCK: usize = 32;

/// Bit i is set when `block[i]` is `%`, `+` or `&`.
#[cfg(target_arch = "x86_64")]
fn specials(block: &[u8]) -> u32 {
    use std::arch::x86_64::*;
    assert!(block.len() >= BLOCK);
    // SAFETY: two unaligned 16-byte loads within `block` (checked above); SSE2 is part of
    // every x86_64 CPU.
    unsafe {
        let mask = |v| {
            let pct = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'%' as i8));
            let plus = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'+' as i8));
            let amp = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'&' as i8));
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(pct, plus), amp)) as u32
        };
        let lo = _mm_loadu_si128(block.as_ptr().cast());
        let hi = _mm_loadu_si128(block.as_ptr().add(16).cast());
        mask(lo) | (mask(hi) << 16)
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn specials(block: &[u8]) -> u32 {
    block[..BLOCK]
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, b'%' | b'+' | b'&'))
        .fold(0, |m, (i, _)| m | 1 << i)
}

fn hex(buf: &[u8], at: usize) -> Option<u8> {
    buf.get(at)
        .and_then(|b| (*b as char).to_digit(16))
        .map(|d| d as u8)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(pairs: Vec<(String, FormValue)>) -> Vec<(String, String)> {
        pairs
            .into_iter()
            .map(|(k, v)| match v {
                FormValue::Text(t) => (k, t),
                FormValue::Long(b) => (k, String::from_utf8(b.to_vec()).unwrap()),
            })
            .collect()
    }

    /// Every way of cutting the body into two chunks, and byte by byte, decodes the same.
    #[test]
    fn chunks_decode_as_the_whole() {
        let body = b"a=1&b=%E5%BC%A0+%E4%B8%89&c=x%2By%2Fz%3D&d=%zz%4&e&&=v&f=a=b&=&g=%";
        let whole = texts(FormDecoder::whole(BytesMut::from(&body[..])));
        assert_eq!(whole[1], ("b".into(), "张 三".into()));
        let theirs: Vec<(String, String)> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(whole, theirs);
        for cut in 0..=body.len() {
            let mut d = FormDecoder::default();
            d.push(&body[..cut]);
            d.push(&body[cut..]);
            assert_eq!(texts(d.finish()), whole, "cut at {cut}");
        }
        let mut d = FormDecoder::default();
        for b in body {
            d.push(&[*b]);
        }
        assert_eq!(d.received(), body.len());
        assert_eq!(texts(d.finish()), whole);
    }

    /// The block path agrees with `form_urlencoded` on long values full of escapes, `+`,
    /// bad escapes and `&`, whatever the chunking.
    #[test]
    fn block_path_matches_form_urlencoded() {
        let unit = "ab%2Bcd%2F+%3D%zz%4x%%41%E5%BC%A0&k%3D=v=w&";
        let body: String = (0..400)
            .map(|i| format!("{}{unit}", "x".repeat(i % 37)))
            .collect();
        let want: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for size in [1, 7, 33, 4096, body.len()] {
            let mut d = FormDecoder::default();
            for chunk in body.as_bytes().chunks(size) {
                d.push(chunk);
            }
            assert_eq!(texts(d.finish()), want, "chunks of {size}");
        }
    }

    #[test]
    fn long_ascii_values_stay_in_the_buffer() {
        let image = "QUJD%2B".repeat(LONG / 4);
        let body = format!("key=k&image={image}&name=%E5%BC%A0");
        let mut d = FormDecoder::with_capacity(body.len());
        for chunk in body.as_bytes().chunks(16 * 1024) {
            d.push(chunk);
        }
        let pairs = d.finish();
        assert!(matches!(&pairs[1], (k, FormValue::Long(b)) if k == "image"
            && b.len() == LONG / 4 * 5 && b.starts_with(b"QUJD+QUJD+")));
        assert!(matches!(&pairs[2], (_, FormValue::Text(t)) if t == "张"));
    }
}
