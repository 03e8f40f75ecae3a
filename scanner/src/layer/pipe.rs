//! A bounded pipe between two threads of one layer pass: the thread that
//! reads and decompresses the stored blob pumps chunks of the stream into
//! it, and the thread that hashes and indexes the tar reads them out, so
//! decompression and indexing run on different cores. At most
//! [`DEPTH`] chunks are in flight; chunk buffers are handed back for reuse.
//!
//! A read error of the source reaches the reading side as the same
//! `io::Error`, at the same place in the stream, and every later read
//! fails too. The end of the stream is an explicit empty chunk: a pump
//! that stopped without sending it (it panicked) is an error, never a
//! clean end. When the reading side stops early (an error, a budget
//! spent), the pump stops at its next chunk.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

/// Bytes per chunk.
const CHUNK: usize = 256 << 10;
/// Chunks in flight.
const DEPTH: usize = 4;

/// What the pump sends: the next bytes (none at the end), or the
/// source's error.
type Piece = io::Result<Vec<u8>>;

/// The reading end.
pub struct PipeReader {
    pieces: Receiver<Piece>,
    spare: Sender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
    /// How the stream ended, once it has: cleanly, or with this error.
    ended: Option<Result<(), (io::ErrorKind, String)>>,
}

/// The writing end, for [`pump`].
pub struct PipeWriter {
    pieces: SyncSender<Piece>,
    spare: Receiver<Vec<u8>>,
}

/// A new pipe.
pub fn pipe() -> (PipeWriter, PipeReader) {
    let (pieces_tx, pieces_rx) = sync_channel(DEPTH);
    let (spare_tx, spare_rx) = channel();
    (
        PipeWriter {
            pieces: pieces_tx,
            spare: spare_rx,
        },
        PipeReader {
            pieces: pieces_rx,
            spare: spare_tx,
            current: Vec::new(),
            at: 0,
            ended: None,
        },
    )
}

/// Reads `source` to its end (or its first error) into the pipe; returns
/// early when the reading end is gone.
pub fn pump(mut source: impl Read, writer: PipeWriter) {
    loop {
        let mut chunk = writer
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        chunk.resize(CHUNK, 0);
        let (filled, error) = fill(&mut source, &mut chunk);
        chunk.truncate(filled);
        if filled > 0 && writer.pieces.send(Ok(chunk)).is_err() {
            return;
        }
        match error {
            Some(e) => {
                let _ = writer.pieces.send(Err(e));
                return;
            }
            None if filled == 0 => {
                let _ = writer.pieces.send(Ok(Vec::new()));
                return;
            }
            None => {}
        }
    }
}

/// Fills `chunk` from `source` until it is full, the source ends, or it
/// fails: the bytes read, and the error that stopped it, if one did.
fn fill(source: &mut impl Read, chunk: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while filled < chunk.len() {
        match source.read(&mut chunk[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            match &self.ended {
                Some(Ok(())) => return Ok(0),
                Some(Err((kind, why))) => return Err(io::Error::new(*kind, why.clone())),
                None if buf.is_empty() => return Ok(0),
                None => {}
            }
            match self.pieces.recv() {
                Ok(Ok(next)) if next.is_empty() => self.ended = Some(Ok(())),
                Ok(Ok(next)) => {
                    let used = std::mem::replace(&mut self.current, next);
                    let _ = self.spare.send(used);
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.ended = Some(Err((e.kind(), e.to_string())));
                    return Err(e);
                }
                Err(_) => {
                    let why = "the stream's reader stopped before its end";
                    self.ended = Some(Err((io::ErrorKind::Other, why.to_string())));
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that gives `bytes`, then fails.
    struct FailsAfter(io::Cursor<Vec<u8>>);

    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut short")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn bytes_arrive_whole_and_in_order() {
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let (writer, mut reader) = pipe();
        let got = std::thread::scope(|scope| {
            let reading = scope.spawn(move || {
                let mut got = Vec::new();
                reader.read_to_end(&mut got).map(|_| got)
            });
            pump(&data[..], writer);
            reading.join().unwrap()
        });
        assert_eq!(got.unwrap(), data);
    }

    #[test]
    fn an_error_comes_after_the_bytes_before_it() {
        let (writer, mut reader) = pipe();
        let (got, error) = std::thread::scope(|scope| {
            let reading = scope.spawn(move || {
                let mut got = vec![0; 10];
                reader.read_exact(&mut got).unwrap();
                let error = reader.read_to_end(&mut Vec::new()).unwrap_err();
                // Never a clean end after the error.
                assert!(reader.read(&mut [0u8; 1]).is_err());
                (got, error)
            });
            pump(FailsAfter(io::Cursor::new(b"0123456789".to_vec())), writer);
            reading.join().unwrap()
        });
        assert_eq!(got, b"0123456789");
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(error.to_string(), "cut short");
    }

    #[test]
    fn a_pump_gone_without_the_end_is_an_error() {
        let (writer, mut reader) = pipe();
        writer.pieces.send(Ok(b"part".to_vec())).unwrap();
        drop(writer);
        let mut got = Vec::new();
        let error = reader.read_to_end(&mut got).unwrap_err();
        assert_eq!(got, b"part");
        assert!(
            error.to_string().contains("stopped before its end"),
            "{error}"
        );
    }

    #[test]
    fn the_pump_stops_when_the_reader_is_gone() {
        let (writer, mut reader) = pipe();
        let mut first = [0u8; 1];
        std::thread::scope(|scope| {
            // An endless source: only the reader's going away ends the pump.
            let pumping = scope.spawn(move || pump(io::repeat(7), writer));
            reader.read_exact(&mut first).unwrap();
            drop(reader);
            pumping.join().unwrap();
        });
        assert_eq!(first, [7]);
    }
}
