package eval

import "math"

// The published baselines, as the benchmark's evaluation script defines them.
// Each scores a sample by its distance from the training samples.

// Manhattan: sum |x_i - mean_i|.
type Manhattan struct{}

func (Manhattan) Name() string { return "manhattan" }

func (Manhattan) Fit(train [][]float64) Scorer {
	mean := colMeans(train)
	return func(x []float64) float64 {
		var s float64
		for i, v := range x {
			s += math.Abs(v - mean[i])
		}
		return s
	}
}

// ScaledManhattan: sum |x_i - mean_i| / a_i with a_i the mean absolute deviation
// of feature i in training; the paper's best detector.
type ScaledManhattan struct{}

func (ScaledManhattan) Name() string { return "scaled-manhattan" }

func (ScaledManhattan) Fit(train [][]float64) Scorer {
	mean := colMeans(train)
	mad := make([]float64, len(mean))
	for _, x := range train {
		for i, v := range x {
			mad[i] += math.Abs(v - mean[i])
		}
	}
	for i := range mad {
		mad[i] = nonZero(mad[i] / float64(len(train)))
	}
	return func(x []float64) float64 {
		var s float64
		for i, v := range x {
			s += math.Abs(v-mean[i]) / mad[i]
		}
		return s
	}
}

// Euclidean: squared distance to the training mean.
type Euclidean struct{}

func (Euclidean) Name() string { return "euclidean" }

func (Euclidean) Fit(train [][]float64) Scorer {
	mean := colMeans(train)
	return func(x []float64) float64 {
		var s float64
		for i, v := range x {
			s += (v - mean[i]) * (v - mean[i])
		}
		return s
	}
}

// Mahalanobis: (x - mean)' S+ (x - mean) with S+ the pseudo-inverse of the
// training covariance (the features are linearly dependent: UD = DD - H).
type Mahalanobis struct{}

func (Mahalanobis) Name() string { return "mahalanobis" }

func (Mahalanobis) Fit(train [][]float64) Scorer {
	mean, cov := covariance(train)
	inv := pinv(cov, len(mean))
	d := make([]float64, len(mean))
	return func(x []float64) float64 {
		for i, v := range x {
			d[i] = v - mean[i]
		}
		return quadForm(inv, d)
	}
}

// NearestNeighborMahalanobis: the smallest Mahalanobis distance (training
// covariance) from x to any training sample.
type NearestNeighborMahalanobis struct{}

func (NearestNeighborMahalanobis) Name() string { return "nn-mahalanobis" }

func (NearestNeighborMahalanobis) Fit(train [][]float64) Scorer {
	mean, cov := covariance(train)
	n := len(mean)
	// Whiten once: with S+ = V L+ V', d' S+ d = |L^-1/2 V' d|^2, so project the
	// training samples and each probe on the kept eigenvectors and compare there.
	vals, vecs := symEigen(cov, n)
	var top float64
	for _, l := range vals {
		top = math.Max(top, math.Abs(l))
	}
	tol := math.Sqrt(2.220446e-16) * top
	var basis [][]float64 // scaled eigenvectors
	for k, l := range vals {
		if l <= tol {
			continue
		}
		b := make([]float64, n)
		for i := range n {
			b[i] = vecs[i*n+k] / math.Sqrt(l)
		}
		basis = append(basis, b)
	}
	project := func(x []float64) []float64 {
		p := make([]float64, len(basis))
		for k, b := range basis {
			var s float64
			for i, v := range x {
				s += b[i] * v
			}
			p[k] = s
		}
		return p
	}
	points := make([][]float64, len(train))
	for i, x := range train {
		points[i] = project(x)
	}
	return func(x []float64) float64 {
		p := project(x)
		best := math.Inf(1)
		for _, q := range points {
			var s float64
			for k := range p {
				d := p[k] - q[k]
				s += d * d
				if s >= best {
					break
				}
			}
			best = math.Min(best, s)
		}
		return best
	}
}

// OutlierCount: the number of features whose z-score (training mean and SD)
// exceeds 1.96 in absolute value.
type OutlierCount struct{}

func (OutlierCount) Name() string { return "outlier-count" }

func (OutlierCount) Fit(train [][]float64) Scorer {
	mean, cov := covariance(train)
	n := len(mean)
	sd := make([]float64, n)
	for i := range n {
		sd[i] = nonZero(math.Sqrt(cov[i*n+i]))
	}
	return func(x []float64) float64 {
		var c float64
		for i, v := range x {
			if math.Abs(v-mean[i])/sd[i] > 1.96 {
				c++
			}
		}
		return c
	}
}

func colMeans(xs [][]float64) []float64 {
	m := make([]float64, len(xs[0]))
	for _, x := range xs {
		for i, v := range x {
			m[i] += v
		}
	}
	for i := range m {
		m[i] /= float64(len(xs))
	}
	return m
}

// nonZero keeps a spread estimate from dividing by zero when every training
// value of a feature is the same (possible with a handful of samples).
func nonZero(s float64) float64 { return math.Max(s, 1e-3) }
