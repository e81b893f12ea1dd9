package sealed

import (
	"bufio"
	"io"
	"sync"
)

// chunkSize is the unit handed from the sealing goroutine to the blob writer.
const chunkSize = 256 << 10

var chunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// chunkPipe is io.Pipe with a queue: the sealer can run up to depth chunks
// ahead of the writer, so encryption and I/O overlap instead of taking turns.
type chunkPipe struct {
	ch   chan *[]byte
	done chan struct{}
	once sync.Once
	werr error // set before ch is closed
	rerr error // set before done is closed

	cur *[]byte
	off int
	n   int
}

func newChunkPipe(depth int) *chunkPipe {
	return &chunkPipe{ch: make(chan *[]byte, depth), done: make(chan struct{})}
}

// writer side --------------------------------------------------------------

type chunkWriter struct{ p *chunkPipe }

// Write copies b into one pooled chunk (bufio guarantees len(b) <= chunkSize
// except for oversized writes, which are split).
func (w chunkWriter) Write(b []byte) (int, error) {
	total := 0
	for len(b) > 0 {
		c := chunks.Get().(*[]byte)
		n := copy((*c)[:chunkSize], b)
		*c = (*c)[:n]
		select {
		case w.p.ch <- c:
		case <-w.p.done:
			chunks.Put(c)
			return total, w.p.rerr
		}
		total += n
		b = b[n:]
	}
	return total, nil
}

// writer returns a buffered writer feeding the pipe and a close function that
// flushes and ends the stream with err (nil for a clean EOF).
func (p *chunkPipe) writer() (*bufio.Writer, func(err error)) {
	bw := bufio.NewWriterSize(chunkWriter{p}, chunkSize)
	return bw, func(err error) {
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			err = io.EOF
		}
		p.werr = err
		close(p.ch)
	}
}

// reader side --------------------------------------------------------------

// Read implements io.Reader for the blob store.
func (p *chunkPipe) Read(b []byte) (int, error) {
	for p.cur == nil || p.off == p.n {
		if p.cur != nil {
			chunks.Put(p.cur)
			p.cur = nil
		}
		c, ok := <-p.ch
		if !ok {
			return 0, p.werr
		}
		p.cur, p.off, p.n = c, 0, len(*c)
	}
	n := copy(b, (*p.cur)[p.off:p.n])
	p.off += n
	return n, nil
}

// closeRead stops the writer (e.g. the blob store gave up) with err.
func (p *chunkPipe) closeRead(err error) {
	p.once.Do(func() {
		p.rerr = err
		close(p.done)
	})
}
