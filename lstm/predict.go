package lstm

import (
	"fmt"
	"sync"
)

// predictChunk is how many windows one inference pass holds at a time; it
// bounds the workspace (≈ 6 MB for the reference config at 60 steps).
const predictChunk = 32

func (n *Network) checkIO(x []float32, batch, steps int, out []float32) {
	F, O := n.cfg.Features, n.cfg.Outputs
	switch {
	case batch < 0 || steps < 1:
		panic(fmt.Sprintf("lstm: batch=%d steps=%d, want batch >= 0 and steps >= 1", batch, steps))
	case len(x) < batch*steps*F:
		panic(fmt.Sprintf("lstm: x has %d values, want batch*steps*Features = %d*%d*%d", len(x), batch, steps, F))
	case len(out) < batch*O:
		panic(fmt.Sprintf("lstm: out has %d values, want batch*Outputs = %d*%d", len(out), batch, O))
	}
}

// getWorkspace returns a pooled inference workspace for up to batch windows
// of steps steps. One-window calls (the HTTP server's) get a small workspace
// of their own pool, so they never drag a 32-window one through the cache.
func (n *Network) getWorkspace(batch, steps int) (*workspace, *sync.Pool) {
	pool, bs := &n.poolBig, predictChunk
	if batch <= 1 {
		pool, bs = &n.poolOne, 1
	}
	if v := pool.Get(); v != nil {
		if ws := v.(*workspace); ws.tCap >= steps {
			return ws, pool
		}
	}
	return newWorkspace(n, bs, steps), pool
}

// Predict runs inference (no dropout). x is [batch][steps][Features]
// row-major, out is [batch][Outputs] row-major. It reuses pooled workspaces,
// so it does not allocate in steady state, and is safe for concurrent use.
func (n *Network) Predict(x []float32, batch, steps int, out []float32) {
	n.predict(x, batch, steps, out, false, 0)
}

// PredictDropout is Monte-Carlo dropout inference: every layer output keeps
// its training-time dropout, with masks drawn from seed (the same seed gives
// the same masks). Layouts as Predict. Calling it with many seeds gives a
// sample of predictions whose spread estimates model uncertainty.
func (n *Network) PredictDropout(x []float32, batch, steps int, out []float32, seed uint64) {
	n.predict(x, batch, steps, out, n.cfg.Dropout > 0, seed)
}

func (n *Network) predict(x []float32, batch, steps int, out []float32, drop bool, seed uint64) {
	n.checkIO(x, batch, steps, out)
	if batch == 1 && !drop {
		if f := n.fusedWeights(); f != nil {
			n.predictOne(f, x, steps, out)
			return
		}
	}
	ws, pool := n.getWorkspace(batch, steps)
	O := n.cfg.Outputs
	for start := 0; start < batch; start += predictChunk {
		bs := min(predictChunk, batch-start)
		for s := 0; s < bs; s++ {
			ws.idx[s] = start + s
		}
		ws.load(n, x, bs, steps)
		if drop {
			ws.dropoutMasks(n, bs, steps, n.cfg.Dropout, seed, 0, start)
		}
		n.forward(ws, bs, steps, drop)
		copy(out[start*O:(start+bs)*O], ws.yhat[:bs*O])
	}
	pool.Put(ws)
}
