package lstm

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/closecast/closecast/internal/atomicfile"
	"github.com/closecast/closecast/internal/readlimit"
)

// The weights file is safetensors (https://huggingface.co/docs/safetensors):
// an 8-byte little-endian header length N, N bytes of JSON mapping tensor
// names to {dtype, shape, data_offsets} (plus an optional "__metadata__"
// string map), then the raw little-endian tensor data. Tensor names and
// layouts are PyTorch's, so torch's load_state_dict accepts the file as is:
//
//	lstm{k}.weight_ih_l0  [4U, In]   (rows: gates i, f, g, o; U rows each)
//	lstm{k}.weight_hh_l0  [4U, U]
//	lstm{k}.bias_ih_l0    [4U]       (the whole Keras bias)
//	lstm{k}.bias_hh_l0    [4U]       (zeros when written; added in when read)
//	dense.weight          [Outputs, U_last]
//	dense.bias            [Outputs]

// tensor is one named float32 array with its shape.
type tensor struct {
	name  string
	shape []int
	data  []float32
}

// maxHeader bounds the JSON header we are willing to parse.
const maxHeader = 16 << 20

// writeTensors writes tensors (in the given order) as safetensors.
func writeTensors(w io.Writer, meta map[string]string, ts []tensor) error {
	type entry struct {
		Dtype   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	// Build the header by hand to keep tensor order stable and readable.
	var hb strings.Builder
	hb.WriteString("{")
	if len(meta) > 0 {
		mj, err := json.Marshal(meta) // encoding/json sorts map keys
		if err != nil {
			return err
		}
		hb.WriteString(`"__metadata__":`)
		hb.Write(mj)
	}
	off := 0
	for i, t := range ts {
		if len(meta) > 0 || i > 0 {
			hb.WriteString(",")
		}
		n := 1
		for _, d := range t.shape {
			n *= d
		}
		if n != len(t.data) {
			return fmt.Errorf("lstm: tensor %s has %d values, shape %v wants %d", t.name, len(t.data), t.shape, n)
		}
		e, err := json.Marshal(entry{"F32", t.shape, [2]int{off, off + 4*n}})
		if err != nil {
			return err
		}
		nj, _ := json.Marshal(t.name)
		hb.Write(nj)
		hb.WriteString(":")
		hb.Write(e)
		off += 4 * n
	}
	hb.WriteString("}")
	header := hb.String()
	if pad := len(header) % 8; pad != 0 { // align the data section, as the reference writer does
		header += strings.Repeat(" ", 8-pad)
	}
	bw := bufio.NewWriter(w)
	var lenb [8]byte
	binary.LittleEndian.PutUint64(lenb[:], uint64(len(header)))
	bw.Write(lenb[:])
	bw.WriteString(header)
	var buf [4]byte
	for _, t := range ts {
		for _, v := range t.data {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			bw.Write(buf[:])
		}
	}
	return bw.Flush()
}

// readTensors parses a safetensors stream holding only F32 tensors.
func readTensors(r io.Reader) (tensorSet, map[string]string, error) {
	var lenb [8]byte
	if _, err := io.ReadFull(r, lenb[:]); err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading the 8-byte header length: %w", err)
	}
	hlen := binary.LittleEndian.Uint64(lenb[:])
	if hlen < 2 || hlen > maxHeader {
		return nil, nil, fmt.Errorf("safetensors: header length %d, want 2..%d", hlen, maxHeader)
	}
	// Read through a limit rather than allocating hlen up front: a corrupt
	// length must not cost megabytes before the file proves that long.
	hdr, err := io.ReadAll(io.LimitReader(r, int64(hlen)))
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading the header: %w", err)
	}
	if uint64(len(hdr)) != hlen {
		return nil, nil, fmt.Errorf("safetensors: header is %d bytes but the file ends after %d", hlen, len(hdr))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header is not a JSON object: %w", err)
	}
	var meta map[string]string
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, fmt.Errorf("safetensors: __metadata__ is not a string map: %w", err)
		}
		delete(raw, "__metadata__")
	}
	type entry struct {
		Dtype   string   `json:"dtype"`
		Shape   []int64  `json:"shape"`
		Offsets []uint64 `json:"data_offsets"`
	}
	entries := make(map[string]entry, len(raw))
	var end uint64
	for name, msg := range raw {
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: bad header entry: %w", name, err)
		}
		if e.Dtype != "F32" {
			return nil, nil, fmt.Errorf("safetensors: tensor %q has dtype %q, want F32", name, e.Dtype)
		}
		if len(e.Offsets) != 2 || e.Offsets[0] > e.Offsets[1] {
			return nil, nil, fmt.Errorf("safetensors: tensor %q has data_offsets %v, want [begin, end] with begin <= end", name, e.Offsets)
		}
		n := uint64(1)
		for _, d := range e.Shape {
			if d < 0 || d > maxDim*64 {
				return nil, nil, fmt.Errorf("safetensors: tensor %q has shape %v: dimension out of range", name, e.Shape)
			}
			n *= uint64(d)
			if n > 1<<32 {
				return nil, nil, fmt.Errorf("safetensors: tensor %q has shape %v: too large", name, e.Shape)
			}
		}
		if e.Offsets[1]-e.Offsets[0] != 4*n {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: shape %v needs %d bytes, data_offsets %v span %d",
				name, e.Shape, 4*n, e.Offsets, e.Offsets[1]-e.Offsets[0])
		}
		end = max(end, e.Offsets[1])
		entries[name] = e
	}
	if end > 1<<34 {
		return nil, nil, fmt.Errorf("safetensors: data section of %d bytes is implausibly large", end)
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(end)+1))
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading tensor data: %w", err)
	}
	if uint64(len(data)) < end {
		return nil, nil, fmt.Errorf("safetensors: data section is %d bytes, tensors need %d (truncated file?)", len(data), end)
	}
	out := make(map[string]tensor, len(entries))
	for name, e := range entries {
		b := data[e.Offsets[0]:e.Offsets[1]]
		t := tensor{name: name, data: make([]float32, len(b)/4)}
		for _, d := range e.Shape {
			t.shape = append(t.shape, int(d))
		}
		for i := range t.data {
			t.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		out[name] = t
	}
	return out, meta, nil
}

// WriteSafetensors writes the network's weights with PyTorch's names and
// layouts (see the table above) and metadata recording the dropout rate,
// which the shapes cannot carry.
func (n *Network) WriteSafetensors(w io.Writer) error {
	meta := map[string]string{
		"format":   "pt",
		"model":    "closecast-lstm",
		"features": strconv.Itoa(n.cfg.Features),
		"units":    strings.Trim(strings.Join(strings.Fields(fmt.Sprint(n.cfg.Units)), ","), "[]"),
		"outputs":  strconv.Itoa(n.cfg.Outputs),
		"dropout":  strconv.FormatFloat(float64(n.cfg.Dropout), 'g', -1, 32),
	}
	return writeTensors(w, meta, n.torchTensors())
}

// torchTensors returns the parameters as PyTorch-named, PyTorch-shaped tensors.
func (n *Network) torchTensors() []tensor {
	var ts []tensor
	for k, L := range n.layers {
		w := n.params[L.wOff : L.wOff+L.K*L.G]
		ih := make([]float32, L.G*L.In)
		hh := make([]float32, L.G*L.U)
		for g := 0; g < L.G; g++ {
			for f := 0; f < L.In; f++ {
				ih[g*L.In+f] = w[f*L.G+g]
			}
			for u := 0; u < L.U; u++ {
				hh[g*L.U+u] = w[(L.In+u)*L.G+g]
			}
		}
		p := fmt.Sprintf("lstm%d.", k)
		ts = append(ts,
			tensor{p + "weight_ih_l0", []int{L.G, L.In}, ih},
			tensor{p + "weight_hh_l0", []int{L.G, L.U}, hh},
			tensor{p + "bias_ih_l0", []int{L.G}, append([]float32(nil), n.params[L.bOff:L.bOff+L.G]...)},
			tensor{p + "bias_hh_l0", []int{L.G}, make([]float32, L.G)})
	}
	U, O := n.layers[len(n.layers)-1].U, n.cfg.Outputs
	dw := make([]float32, O*U)
	for u := 0; u < U; u++ {
		for o := 0; o < O; o++ {
			dw[o*U+u] = n.params[n.dwOff+u*O+o]
		}
	}
	return append(ts, tensor{"dense.weight", []int{O, U}, dw},
		tensor{"dense.bias", []int{O}, append([]float32(nil), n.params[n.dbOff:n.dbOff+O]...)})
}

var layerName = regexp.MustCompile(`^lstm(0|[1-9][0-9]*)\.(weight_ih_l0|weight_hh_l0|bias_ih_l0|bias_hh_l0)$`)

// ReadSafetensors reads a network written by WriteSafetensors (or by
// PyTorch's safetensors.torch.save_file of the equivalent module). The
// configuration is inferred from the tensor shapes, the dropout rate from
// the "dropout" metadata (0 if absent). Names, shapes, dtype (F32 only) and
// finiteness are checked, and the error says which tensor is wrong.
func ReadSafetensors(r io.Reader) (*Network, error) {
	ts, meta, err := readTensors(r)
	if err != nil {
		return nil, err
	}
	cfg, err := torchConfig(ts, meta)
	if err != nil {
		return nil, err
	}
	n, err := alloc(cfg)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if err := n.setTorchTensors(ts); err != nil {
		return nil, err
	}
	n.syncDerived()
	return n, nil
}

// tensorSet is a safetensors file's tensors by name.
type tensorSet map[string]tensor

// get returns tensor name's data, checking that it exists, has the given
// shape and holds only finite values.
func (ts tensorSet) get(name string, shape ...int) ([]float32, error) {
	t, ok := ts[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: missing tensor %q", name)
	}
	if !slices.Equal(t.shape, shape) {
		return nil, fmt.Errorf("safetensors: tensor %q has shape %v, want %v", name, t.shape, shape)
	}
	for i, v := range t.data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("safetensors: tensor %q element %d is %v", name, i, v)
		}
	}
	return t.data, nil
}

// shapeOf is tensor name's shape, or an error if it is missing.
func (ts tensorSet) shapeOf(name string) ([]int, error) {
	t, ok := ts[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: missing tensor %q", name)
	}
	return t.shape, nil
}

// torchConfig maps PyTorch's names back to a configuration: it refuses
// unknown names, infers the layers, their units, the features and the
// outputs from the shapes and the dropout rate from meta, and checks every
// LSTM tensor against the result, before anything is allocated, so a
// header declaring a huge zero-sized tensor cannot make us allocate by
// its word alone.
func torchConfig(ts tensorSet, meta map[string]string) (Config, error) {
	var cfg Config
	layers := 0
	for name := range ts {
		switch m := layerName.FindStringSubmatch(name); {
		case m != nil:
			k, err := strconv.Atoi(m[1])
			if err != nil || k > 64 {
				return cfg, fmt.Errorf("safetensors: tensor %q: layer index out of range", name)
			}
			layers = max(layers, k+1)
		case name == "dense.weight" || name == "dense.bias":
		default:
			return cfg, fmt.Errorf("safetensors: unexpected tensor %q (want lstm{k}.weight_ih_l0/weight_hh_l0/bias_ih_l0/bias_hh_l0, dense.weight, dense.bias)", name)
		}
	}
	if layers == 0 {
		return cfg, errors.New("safetensors: no LSTM layer tensors (lstm0.weight_ih_l0 ...)")
	}
	for k := 0; k < layers; k++ {
		s, err := ts.shapeOf(fmt.Sprintf("lstm%d.weight_hh_l0", k))
		if err != nil {
			return cfg, err
		}
		if len(s) != 2 || s[0] != 4*s[1] || s[1] < 1 {
			return cfg, fmt.Errorf("safetensors: tensor \"lstm%d.weight_hh_l0\" has shape %v, want [4U, U]", k, s)
		}
		if k == 0 {
			si, err := ts.shapeOf("lstm0.weight_ih_l0")
			if err != nil {
				return cfg, err
			}
			if len(si) != 2 {
				return cfg, fmt.Errorf("safetensors: tensor \"lstm0.weight_ih_l0\" has shape %v, want [4U, Features]", si)
			}
			cfg.Features = si[1]
		}
		cfg.Units = append(cfg.Units, s[1])
	}
	sd, err := ts.shapeOf("dense.weight")
	if err != nil {
		return cfg, err
	}
	if len(sd) != 2 {
		return cfg, fmt.Errorf("safetensors: tensor \"dense.weight\" has shape %v, want [Outputs, %d]", sd, cfg.Units[layers-1])
	}
	cfg.Outputs = sd[0]
	if d, ok := meta["dropout"]; ok {
		v, err := strconv.ParseFloat(d, 32)
		if err != nil {
			return cfg, fmt.Errorf("safetensors: metadata dropout = %q is not a number", d)
		}
		cfg.Dropout = float32(v)
	}
	if err := cfg.validate(); err != nil {
		return cfg, fmt.Errorf("safetensors: %w", err)
	}
	in := cfg.Features
	for k, u := range cfg.Units {
		p := fmt.Sprintf("lstm%d.", k)
		for name, shape := range map[string][]int{p + "weight_ih_l0": {4 * u, in}, p + "weight_hh_l0": {4 * u, u},
			p + "bias_ih_l0": {4 * u}, p + "bias_hh_l0": {4 * u}} {
			if _, err := ts.get(name, shape...); err != nil {
				return cfg, err
			}
		}
		in = u
	}
	return cfg, nil
}

// setTorchTensors is torchTensors' inverse: it copies PyTorch-named,
// PyTorch-shaped tensors into n's parameters (the two LSTM biases summed
// into Keras' one), checking each tensor against n's configuration.
func (n *Network) setTorchTensors(ts tensorSet) error {
	for k, L := range n.layers {
		p := fmt.Sprintf("lstm%d.", k)
		ih, err := ts.get(p+"weight_ih_l0", L.G, L.In)
		if err != nil {
			return err
		}
		hh, err := ts.get(p+"weight_hh_l0", L.G, L.U)
		if err != nil {
			return err
		}
		bi, err := ts.get(p+"bias_ih_l0", L.G)
		if err != nil {
			return err
		}
		bh, err := ts.get(p+"bias_hh_l0", L.G)
		if err != nil {
			return err
		}
		w := n.params[L.wOff : L.wOff+L.K*L.G]
		for g := 0; g < L.G; g++ {
			for f := 0; f < L.In; f++ {
				w[f*L.G+g] = ih[g*L.In+f]
			}
			for u := 0; u < L.U; u++ {
				w[(L.In+u)*L.G+g] = hh[g*L.U+u]
			}
			n.params[L.bOff+g] = bi[g] + bh[g]
		}
	}
	U, O := n.layers[len(n.layers)-1].U, n.cfg.Outputs
	dw, err := ts.get("dense.weight", O, U)
	if err != nil {
		return err
	}
	db, err := ts.get("dense.bias", O)
	if err != nil {
		return err
	}
	for u := 0; u < U; u++ {
		for o := 0; o < O; o++ {
			n.params[n.dwOff+u*O+o] = dw[o*U+u]
		}
	}
	copy(n.params[n.dbOff:], db)
	return nil
}

// SaveFile writes the weights to path atomically: a temporary file in the
// same directory, synced, then renamed over path, so readers never see a
// half-written model.
func (n *Network) SaveFile(path string) error {
	if err := atomicfile.WriteFunc(path, n.WriteSafetensors); err != nil {
		return fmt.Errorf("lstm: saving %s: %w", path, err)
	}
	return nil
}

// LoadFile reads a safetensors weights file (see ReadSafetensors).
func LoadFile(path string) (*Network, error) {
	f, err := readlimit.Open(path, readlimit.Weights)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := ReadSafetensors(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}
