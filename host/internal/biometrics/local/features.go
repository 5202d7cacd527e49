package local

// Features. A pattern of n keys gives the detector 3n-2 features, in this order:
//
//   - the n hold times (key-down to key-up of each key),
//   - the n-1 down-down latencies (key-down of one key to key-down of the next),
//   - the n-1 up-down latencies (key-up of one key to key-down of the next; negative
//     when the keys overlap).
//
// All in milliseconds. The CMU benchmark's columns H, DD and UD are the same three
// kinds, so the evaluation (package eval) feeds the benchmark to the same detector.
// UD = DD - H, so a profile stores only holds and down-down latencies (timings).

// Kind is the kind of a feature.
type Kind uint8

const (
	Hold     Kind = iota // key-down to key-up of one key
	DownDown             // key-down to key-down of consecutive keys
	UpDown               // key-up to key-down of consecutive keys
	numKinds
)

func (k Kind) String() string {
	switch k {
	case Hold:
		return "hold"
	case DownDown:
		return "down-down"
	case UpDown:
		return "up-down"
	}
	return "unknown"
}

// KindOf returns the kind of feature i of a feature vector of m = 3n-2 features.
func KindOf(i, m int) Kind {
	n := (m + 2) / 3
	switch {
	case i < n:
		return Hold
	case i < 2*n-1:
		return DownDown
	}
	return UpDown
}

// timings returns what a profile stores of the pattern: the n hold times, then the
// n-1 down-down latencies, in milliseconds. They determine the pattern completely
// (the first key-down is at 0).
func (p Pattern) timings() []int32 {
	n := len(p.Keys)
	f := make([]int32, 0, 2*n-1)
	for _, k := range p.Keys {
		f = append(f, int32(k.Hold()))
	}
	for i := 1; i < n; i++ {
		f = append(f, int32(p.Keys[i].Down-p.Keys[i-1].Down))
	}
	return f
}

// Features expands stored timings (n holds, then n-1 down-down latencies) into the
// detector's 3n-2 features.
func Features(timings []int32) []float64 {
	n := (len(timings) + 1) / 2
	x := make([]float64, 3*n-2)
	for i := range n {
		x[i] = float64(timings[i])
	}
	for i := range n - 1 {
		dd := float64(timings[n+i])
		x[n+i] = dd
		x[2*n-1+i] = dd - x[i]
	}
	return x
}

// Features returns the pattern's 3n-2 features.
func (p Pattern) Features() []float64 { return Features(p.timings()) }
