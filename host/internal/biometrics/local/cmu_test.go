package local

import (
	"encoding/csv"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCMUBenchmark measures the detector on the CMU keystroke benchmark
// (Killourhy & Maxion 2009) when SMSPLUS_KEYSTROKE_CSV names
// DSL-StrongPasswordData.csv. It prints figures, it does not gate: the data is not
// in the repository, and SMS+'s setting (a few enrollment samples of a phrase typed
// on a phone) differs from the paper's (200 samples of a password on a desktop).
//
// Two protocols are reported:
//   - paper: train on sessions 1-4, genuine = sessions 5-8, impostors = the first
//     five samples of every other subject; mean per-subject EER of the distance.
//   - smsplus: enroll on the first EnrollSamples samples of session 1, genuine =
//     the first five samples of each of sessions 2-8 (later logins), impostors as
//     above; the false-reject and false-accept rates at the engine's own threshold,
//     and the mean per-subject EER.
func TestCMUBenchmark(t *testing.T) {
	path := os.Getenv("SMSPLUS_KEYSTROKE_CSV")
	if path == "" {
		t.Skip("SMSPLUS_KEYSTROKE_CSV not set")
	}
	subjects, err := readCMU(path)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(subjects))
	for s := range subjects {
		names = append(names, s)
	}
	slices.Sort(names)

	impostors := func(genuine string) [][]int32 {
		var out [][]int32
		for _, o := range names {
			if o != genuine {
				out = append(out, subjects[o][:5]...)
			}
		}
		return out
	}

	// Paper protocol, to check the detector against the published 0.096.
	var paperEER []float64
	for _, s := range names {
		rows := subjects[s]
		m := newModel(rows[:200])
		paperEER = append(paperEER, eer(distances(m, rows[200:]), distances(m, impostors(s))))
	}
	mean, sd := meanSD(paperEER)
	t.Logf("paper protocol (200 training samples): mean EER %.4f (sd %.4f)", mean, sd)

	for _, k := range []int{3, 5} {
		var frr, far, n, nImp float64
		var subjEER []float64
		for _, s := range names {
			rows := subjects[s]
			enroll := rows[:k]
			m := newModel(enroll)
			thr := threshold(len(enroll))
			var gen [][]int32
			for session := 1; session < 8; session++ {
				gen = append(gen, rows[session*50:session*50+5]...)
			}
			g, i := distances(m, gen), distances(m, impostors(s))
			for _, d := range g {
				if d > thr {
					frr++
				}
			}
			for _, d := range i {
				if d <= thr {
					far++
				}
			}
			n += float64(len(g))
			nImp += float64(len(i))
			subjEER = append(subjEER, eer(g, i))
		}
		mean, sd := meanSD(subjEER)
		t.Logf("smsplus protocol, %d enrollment samples: at threshold FRR %.3f FAR %.3f; mean EER %.4f (sd %.4f)",
			k, frr/n, far/nImp, mean, sd)
	}
}

// readCMU returns each subject's 400 samples as feature vectors in the engine's
// order (11 holds, then 10 key-down latencies), in ms.
func readCMU(path string) (map[string][][]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, err
	}
	var holds, dds []int
	for i, h := range header {
		switch {
		case strings.HasPrefix(h, "H."):
			holds = append(holds, i)
		case strings.HasPrefix(h, "DD."):
			dds = append(dds, i)
		}
	}
	out := map[string][][]int32{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		var x []int32
		for _, i := range append(slices.Clone(holds), dds...) {
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil {
				return nil, err
			}
			x = append(x, int32(math.Round(v*1000)))
		}
		out[rec[0]] = append(out[rec[0]], x)
	}
	return out, nil
}

func distances(m model, xs [][]int32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = m.distance(x)
	}
	return out
}

// eer is the equal error rate of a distance detector, interpolated between the two
// thresholds where the miss rate and the false-alarm rate cross.
func eer(genuine, impostor []float64) float64 {
	cands := slices.Concat(genuine, impostor)
	slices.Sort(cands)
	rates := func(thr float64) (miss, fa float64) {
		for _, d := range genuine {
			if d > thr {
				miss++
			}
		}
		for _, d := range impostor {
			if d <= thr {
				fa++
			}
		}
		return miss / float64(len(genuine)), fa / float64(len(impostor))
	}
	prevMiss, prevFA := 1.0, 0.0
	for _, thr := range cands {
		miss, fa := rates(thr)
		if fa >= miss {
			// Crossing between the previous point and this one.
			d0, d1 := prevMiss-prevFA, miss-fa
			if d0 == d1 {
				return (miss + fa) / 2
			}
			w := d0 / (d0 - d1)
			return (prevMiss + w*(miss-prevMiss) + prevFA + w*(fa-prevFA)) / 2
		}
		prevMiss, prevFA = miss, fa
	}
	return 0
}

func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}
