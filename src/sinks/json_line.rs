//! Encoding one record as one line of JSON, byte for byte what `serde_json` writes, faster.
//!
//! Output records are mostly flat structs of integers and short strings, and at millions of
//! lines per second `serde_json`'s general path costs more than the query that made them:
//! every key and value goes through a separate, out-of-line write. [`encode_json`] writes
//! such structs itself, with the field code inlined into each record type's `Serialize`, so
//! that keys become constant copies. Whatever it does not handle natively (floats, nested
//! structs, sequences, maps, enums with data) it hands to `serde_json`, value by value, so the
//! bytes are always `serde_json`'s.

use std::fmt;

use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeStruct, Serializer};

/// Appends `record` to `out` as compact JSON, exactly as `serde_json::to_writer` would; on an
/// error, `out` is left as it was.
///
/// ```
/// use serde::Serialize;
/// use weir::sinks::encode_json;
///
/// #[derive(Serialize)]
/// struct Line<'a> { auction: u64, name: &'a str, price: f64, tags: Vec<u8> }
///
/// let line = Line { auction: 7, name: "a \"b\"", price: 1.5, tags: vec![1, 2] };
/// let mut out = Vec::new();
/// encode_json(&mut out, &line).unwrap();
/// assert_eq!(out, serde_json::to_vec(&line).unwrap());
/// ```
#[inline(always)]
pub fn encode_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, record: &T) -> serde_json::Result<()> {
    let start = out.len();
    let written = match record.serialize(Record { out: &mut *out }) {
        Ok(written) => written,
        Err(NotNative) => {
            out.truncate(start);
            serde_json::to_writer(&mut *out, record)
        }
    };
    // A record that cannot be encoded leaves nothing half-written behind.
    if written.is_err() {
        out.truncate(start);
    }
    written
}

/// What the native path answers for a shape it leaves to `serde_json`. It is returned before
/// anything is written for that shape, and the caller starts the value over.
#[derive(Debug)]
struct NotNative;

impl fmt::Display for NotNative {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to serde_json")
    }
}

impl std::error::Error for NotNative {}

impl ser::Error for NotNative {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotNative
    }
}

/// The result of a native step: `Err(NotNative)` hands the value to `serde_json`, `Ok(Err)`
/// is `serde_json`'s own error from a value handed on.
type Step = Result<serde_json::Result<()>, NotNative>;

/// Whether `s` has a byte JSON must escape: a control character, `"` or `\\`. Eight bytes at
/// a time: a byte-by-byte loop over each key of each line was a tenth of q0's encoding.
#[inline(always)]
fn needs_escape(s: &str) -> bool {
    let mut chunks = s.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        if word_needs_escape(u64::from_le_bytes(word)) {
            return true;
        }
    }
    // The tail, padded with a byte that needs no escape.
    let mut word = [b'a'; 8];
    word[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    word_needs_escape(u64::from_le_bytes(word))
}

/// Whether one of the eight bytes of `word` is below 0x20, `"` or `\\`.
#[inline(always)]
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Whether a byte of `x` is below `n` (at most 0x80): exact whatever the other bytes
    // hold, as a borrow only starts at such a byte.
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGHS;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    (below(word, 0x20) | below(quote, 1) | below(backslash, 1)) != 0
}

#[inline(always)]
fn string(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    if needs_escape(s) {
        return serde_json::to_writer(out, s);
    }
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

/// The top level: a struct is written natively, anything else by `serde_json`.
struct Record<'a> {
    out: &'a mut Vec<u8>,
}

/// A struct's fields, each written natively or handed on by itself.
struct Fields<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    error: Option<serde_json::Error>,
}

/// A field's value: integers, strings, booleans, unit and options of those are native.
struct Value<'a> {
    out: &'a mut Vec<u8>,
}

/// The methods of shapes a serializer leaves to `serde_json`.
macro_rules! not_native {
    ($($method:ident($($arg:ty),*);)*) => {
        $(fn $method(self $(, _: $arg)*) -> Step {
            Err(NotNative)
        })*
    };
}

/// The compound shapes, none of them native below the top level.
macro_rules! not_native_compounds {
    ($structs:ty) => {
        type SerializeSeq = Impossible<serde_json::Result<()>, NotNative>;
        type SerializeTuple = Impossible<serde_json::Result<()>, NotNative>;
        type SerializeTupleStruct = Impossible<serde_json::Result<()>, NotNative>;
        type SerializeTupleVariant = Impossible<serde_json::Result<()>, NotNative>;
        type SerializeStruct = $structs;
        type SerializeStructVariant = Impossible<serde_json::Result<()>, NotNative>;

        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Step {
            Err(NotNative)
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotNative> {
            Err(NotNative)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotNative> {
            Err(NotNative)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, NotNative> {
            Err(NotNative)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, NotNative> {
            Err(NotNative)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, NotNative> {
            Err(NotNative)
        }
    };
}

impl<'a> Serializer for Record<'a> {
    type Ok = serde_json::Result<()>;
    type Error = NotNative;
    /// A map with string keys, as `#[serde(flatten)]` makes of a struct (changelog lines).
    type SerializeMap = Fields<'a>;

    not_native_compounds!(Fields<'a>);

    #[inline(always)]
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, NotNative> {
        Ok(Fields::open(self.out))
    }

    #[inline(always)]
    fn serialize_map(self, _: Option<usize>) -> Result<Fields<'a>, NotNative> {
        Ok(Fields::open(self.out))
    }

    not_native! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32);
        serialize_u64(u64); serialize_f32(f32); serialize_f64(f64); serialize_char(char);
        serialize_str(&str); serialize_bytes(&[u8]); serialize_none(); serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Step {
        Err(NotNative)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Step {
        Err(NotNative)
    }
}

impl<'a> Fields<'a> {
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Fields {
            out,
            first: true,
            error: None,
        }
    }

    /// Writes the separator before a key, unless this is the first.
    #[inline(always)]
    fn separate(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// Writes `value` natively, or hands it to `serde_json` by itself.
    #[inline(always)]
    fn value<T: Serialize + ?Sized>(&mut self, value: &T) {
        let start = self.out.len();
        let written = match value.serialize(Value {
            out: &mut *self.out,
        }) {
            Ok(written) => written,
            Err(NotNative) => {
                self.out.truncate(start);
                serde_json::to_writer(&mut *self.out, value)
            }
        };
        if let Err(error) = written {
            self.error = Some(error);
        }
    }

    #[inline(always)]
    fn close(self) -> serde_json::Result<()> {
        match self.error {
            Some(error) => Err(error),
            None => {
                self.out.push(b'}');
                Ok(())
            }
        }
    }
}

impl SerializeStruct for Fields<'_> {
    type Ok = serde_json::Result<()>;
    type Error = NotNative;

    // Inlined into each record type's `Serialize`, where `key` is a constant.
    #[inline(always)]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NotNative> {
        if self.error.is_some() {
            return Ok(());
        }
        self.separate();
        if needs_escape(key) {
            if let Err(error) = serde_json::to_writer(&mut *self.out, key) {
                self.error = Some(error);
                return Ok(());
            }
            self.out.push(b':');
        } else {
            self.out.push(b'"');
            self.out.extend_from_slice(key.as_bytes());
            self.out.extend_from_slice(b"\":");
        }
        self.value(value);
        Ok(())
    }

    #[inline(always)]
    fn end(self) -> Step {
        Ok(self.close())
    }
}

/// A top-level map: keys that are strings are written natively; any other key hands the
/// whole record to `serde_json` (which quotes numbers and refuses the rest).
impl SerializeMap for Fields<'_> {
    type Ok = serde_json::Result<()>;
    type Error = NotNative;

    #[inline(always)]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NotNative> {
        if self.error.is_some() {
            return Ok(());
        }
        self.separate();
        if let Err(error) = key.serialize(Key {
            out: &mut *self.out,
        })? {
            self.error = Some(error);
            return Ok(());
        }
        self.out.push(b':');
        Ok(())
    }

    #[inline(always)]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotNative> {
        if self.error.is_none() {
            self.value(value);
        }
        Ok(())
    }

    #[inline(always)]
    fn end(self) -> Step {
        Ok(self.close())
    }
}

/// A map key: a string, or not native.
struct Key<'a> {
    out: &'a mut Vec<u8>,
}

impl Serializer for Key<'_> {
    type Ok = serde_json::Result<()>;
    type Error = NotNative;
    type SerializeMap = Impossible<serde_json::Result<()>, NotNative>;

    not_native_compounds!(Impossible<serde_json::Result<()>, NotNative>);

    #[inline(always)]
    fn serialize_str(self, key: &str) -> Step {
        Ok(string(self.out, key))
    }

    not_native! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32);
        serialize_u64(u64); serialize_f32(f32); serialize_f64(f64); serialize_char(char);
        serialize_bytes(&[u8]); serialize_none(); serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotNative> {
        Err(NotNative)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotNative> {
        Err(NotNative)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Step {
        Err(NotNative)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Step {
        Err(NotNative)
    }
}

/// Native integer methods: the digits by `itoa`, as `serde_json` writes them.
macro_rules! integers {
    ($($method:ident($ty:ty);)*) => {
        $(#[inline(always)]
        fn $method(self, value: $ty) -> Step {
            self.out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
            Ok(Ok(()))
        })*
    };
}

impl Serializer for Value<'_> {
    type Ok = serde_json::Result<()>;
    type Error = NotNative;
    type SerializeMap = Impossible<serde_json::Result<()>, NotNative>;

    not_native_compounds!(Impossible<serde_json::Result<()>, NotNative>);

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotNative> {
        Err(NotNative)
    }

    integers! {
        serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64);
    }

    not_native! {
        serialize_f32(f32); serialize_f64(f64); serialize_char(char); serialize_bytes(&[u8]);
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotNative> {
        Err(NotNative)
    }

    #[inline(always)]
    fn serialize_bool(self, value: bool) -> Step {
        let text: &[u8] = if value { b"true" } else { b"false" };
        self.out.extend_from_slice(text);
        Ok(Ok(()))
    }

    #[inline(always)]
    fn serialize_str(self, value: &str) -> Step {
        Ok(string(self.out, value))
    }

    #[inline(always)]
    fn serialize_none(self) -> Step {
        self.serialize_unit()
    }

    #[inline(always)]
    fn serialize_unit(self) -> Step {
        self.out.extend_from_slice(b"null");
        Ok(Ok(()))
    }

    #[inline(always)]
    fn serialize_unit_struct(self, _: &'static str) -> Step {
        self.serialize_unit()
    }

    #[inline(always)]
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Step {
        Ok(string(self.out, variant))
    }

    #[inline(always)]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Step {
        value.serialize(self)
    }

    #[inline(always)]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Step {
        value.serialize(self)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::{encode_json, needs_escape};

    #[test]
    fn needs_escape_finds_every_byte_that_must_be_escaped_at_every_position() {
        let exact = |s: &str| s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
        let specials = ["\"", "\\", "\n", "\u{0}", "\u{1f}"];
        let plain = ["a", " ", "~", "é", "\u{7f}", "€", "!", "#", "]"];
        for len in 0..20 {
            for fill in plain {
                let base: String = std::iter::repeat_n(fill, len).collect();
                assert!(!needs_escape(&base), "{base:?}");
                for at in 0..=len {
                    for special in specials.iter().chain(&plain) {
                        let mut s: String = std::iter::repeat_n(fill, at).collect();
                        s.push_str(special);
                        s.extend(std::iter::repeat_n(fill, len - at));
                        assert_eq!(needs_escape(&s), exact(&s), "{s:?}");
                    }
                }
            }
        }
    }

    fn same<T: Serialize>(record: &T) {
        let mut out = b"previous line\n".to_vec();
        encode_json(&mut out, record).expect("encodes");
        let expected = [
            b"previous line\n".to_vec(),
            serde_json::to_vec(record).unwrap(),
        ]
        .concat();
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&expected)
        );
    }

    #[derive(Serialize)]
    struct Flat {
        a: u64,
        b: i64,
        c: i8,
        d: u8,
        ok: bool,
        name: String,
        none: Option<u32>,
        some: Option<u32>,
        unit: (),
    }

    #[derive(Serialize)]
    struct Wrapper(u64);

    #[derive(Serialize)]
    enum Kind {
        Plain,
        Data(u32),
        Fields { x: u8 },
    }

    #[derive(Serialize)]
    struct Mixed {
        price: f64,
        small: f32,
        letter: char,
        nested: Flat,
        list: Vec<u64>,
        map: BTreeMap<String, u32>,
        kinds: [Kind; 3],
        kind: Kind,
        wrapped: Wrapper,
        optional_struct: Option<Wrapper>,
        tuple: (u8, String),
        nan: f64,
        #[serde(rename = "re\"named")]
        renamed: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
    }

    fn flat(name: &str) -> Flat {
        Flat {
            a: u64::MAX,
            b: i64::MIN,
            c: -7,
            d: 0,
            ok: true,
            name: name.to_string(),
            none: None,
            some: Some(42),
            unit: (),
        }
    }

    #[test]
    fn flat_structs_are_the_bytes_serde_json_writes() {
        for name in [
            "",
            "plain",
            "quote \" back \\ slash",
            "tab\tnew\nline\u{1}",
            "üñí €",
        ] {
            same(&flat(name));
        }
    }

    #[test]
    fn every_other_shape_is_handed_to_serde_json_whole() {
        let mixed = Mixed {
            price: 1.25,
            small: 0.1,
            letter: '"',
            nested: flat("inner"),
            list: vec![1, 2, 3],
            map: [("k\"ey".to_string(), 1), ("b".to_string(), 2)].into(),
            kinds: [Kind::Plain, Kind::Data(3), Kind::Fields { x: 4 }],
            kind: Kind::Plain,
            wrapped: Wrapper(9),
            optional_struct: Some(Wrapper(10)),
            tuple: (1, "x".into()),
            nan: f64::NAN,
            renamed: 5,
            skipped: None,
        };
        same(&mixed);
        same(&(1u8, "tuple at the top"));
        same(&vec![flat("a"), flat("b")]);
        same(&Kind::Fields { x: 1 });
        same(&"a bare string");
        same(&17u64);
        same(&Wrapper(3));
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "lowercase")]
    enum Tagged {
        Bid { auction: u64, channel: String },
    }

    #[test]
    fn internally_tagged_enums_are_the_bytes_serde_json_writes() {
        same(&Tagged::Bid {
            auction: 1000,
            channel: "Google".into(),
        });
    }

    #[derive(Serialize)]
    struct Flattened {
        diff: isize,
        #[serde(flatten)]
        row: Flat,
        #[serde(flatten)]
        more: BTreeMap<String, f64>,
    }

    #[test]
    fn top_level_maps_and_flattened_structs_are_the_bytes_serde_json_writes() {
        let more: BTreeMap<String, f64> = [("x\"y".to_string(), 0.5)].into();
        same(&Flattened {
            diff: -1,
            row: flat("tab\t"),
            more,
        });
        same(&weir_change());
        let strings: BTreeMap<&str, Vec<u8>> = [("a", vec![1]), ("b\n", vec![])].into();
        same(&strings);
        // serde_json quotes integer keys and refuses others: handed over whole.
        let numbers: BTreeMap<u32, &str> = [(1, "one"), (20, "twenty")].into();
        same(&numbers);
    }

    fn weir_change() -> crate::changelog::Change<Flat> {
        crate::changelog::Change {
            diff: 1,
            time: 7,
            record: flat("row"),
        }
    }

    #[test]
    fn a_failing_value_is_serde_json_s_error() {
        let map: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        #[derive(Serialize)]
        struct BadKey {
            map: BTreeMap<Vec<u8>, u8>,
        }
        let mut out = Vec::new();
        let error = encode_json(&mut out, &BadKey { map }).unwrap_err();
        assert!(
            error.to_string().contains("key must be a string"),
            "{error}"
        );
        assert!(out.is_empty(), "half a record was left: {out:?}");
    }
}
