package eval

import (
	"math/rand/v2"
	"testing"
)

func TestBaselines(t *testing.T) {
	t.Parallel()
	square := [][]float64{{0, 0}, {2, 0}, {0, 2}, {2, 2}} // mean (1,1), covariance diag(4/3)
	line := [][]float64{{0, 0}, {2, 2}}                   // covariance of rank 1
	tests := map[string]struct {
		d     Detector
		train [][]float64
		x     []float64
		want  float64
	}{
		"manhattan":                  {Manhattan{}, [][]float64{{0, 0}, {2, 4}}, []float64{3, 3}, 3},
		"scaled manhattan":           {ScaledManhattan{}, [][]float64{{0, 0}, {2, 4}}, []float64{3, 3}, 2.5},
		"euclidean":                  {Euclidean{}, [][]float64{{0, 0}, {2, 4}}, []float64{3, 3}, 5},
		"mahalanobis":                {Mahalanobis{}, square, []float64{3, 1}, 3},
		"mahalanobis, singular":      {Mahalanobis{}, line, []float64{3, 3}, 2},
		"mahalanobis, null space":    {Mahalanobis{}, line, []float64{2, 0}, 0},
		"nn mahalanobis":             {NearestNeighborMahalanobis{}, square, []float64{2.5, 2}, 0.1875},
		"nn mahalanobis, on a point": {NearestNeighborMahalanobis{}, square, []float64{0, 2}, 0},
		"outlier count, none":        {OutlierCount{}, [][]float64{{0, 10}, {2, 10}, {4, 13}}, []float64{5.9, 11}, 0},
		"outlier count, one":         {OutlierCount{}, [][]float64{{0, 10}, {2, 10}, {4, 13}}, []float64{6.5, 11}, 1},
		"outlier count, two":         {OutlierCount{}, [][]float64{{0, 10}, {2, 10}, {4, 13}}, []float64{7, 15}, 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := tc.d.Fit(tc.train)(tc.x); !nearTol(got, tc.want, 1e-9) {
				t.Errorf("score = %v, want %v", got, tc.want)
			}
		})
	}
}

func nearTol(a, b, tol float64) bool { return a-b < tol && b-a < tol }

func TestSymEigen(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 12
	a := make([]float64, n*n)
	for i := range n {
		for j := i; j < n; j++ {
			v := rng.NormFloat64()
			a[i*n+j], a[j*n+i] = v, v
		}
	}
	vals, vecs := symEigen(a, n)
	// A = V diag(vals) V'.
	for i := range n {
		for j := range n {
			var s float64
			for k := range n {
				s += vecs[i*n+k] * vals[k] * vecs[j*n+k]
			}
			if !nearTol(s, a[i*n+j], 1e-9) {
				t.Fatalf("reconstructed A[%d][%d] = %v, want %v", i, j, s, a[i*n+j])
			}
		}
	}
}

func TestPinv(t *testing.T) {
	t.Parallel()
	// A rank-2 covariance in 3 dimensions: the third feature is the sum of the
	// first two, like UD = DD - H.
	rng := rand.New(rand.NewPCG(5, 6))
	var xs [][]float64
	for range 30 {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		xs = append(xs, []float64{a, b, a + b})
	}
	_, cov := covariance(xs)
	p := pinv(cov, 3)
	mul := func(x, y []float64) []float64 {
		out := make([]float64, 9)
		for i := range 3 {
			for j := range 3 {
				for k := range 3 {
					out[i*3+j] += x[i*3+k] * y[k*3+j]
				}
			}
		}
		return out
	}
	// A P A = A and P A P = P.
	apa, pap := mul(mul(cov, p), cov), mul(mul(p, cov), p)
	for i := range 9 {
		if !nearTol(apa[i], cov[i], 1e-9) || !nearTol(pap[i], p[i], 1e-9) {
			t.Fatalf("not a pseudo-inverse:\nA %v\nP %v", cov, p)
		}
	}
}
