package eval

import "math"

// symEigen returns the eigenvalues and eigenvectors (columns of vecs, row-major
// n x n) of the symmetric matrix a (row-major n x n), by cyclic Jacobi rotations.
// The matrices here are covariances of at most a few dozen features, where Jacobi
// is accurate and fast enough.
func symEigen(a []float64, n int) (vals []float64, vecs []float64) {
	m := append([]float64(nil), a...)
	v := make([]float64, n*n)
	for i := range n {
		v[i*n+i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		var off, diag float64
		for i := range n {
			diag += m[i*n+i] * m[i*n+i]
			for j := i + 1; j < n; j++ {
				off += m[i*n+j] * m[i*n+j]
			}
		}
		if off <= 1e-30*diag || off == 0 {
			break
		}
		for p := range n {
			for q := p + 1; q < n; q++ {
				apq := m[p*n+q]
				if apq == 0 {
					continue
				}
				theta := (m[q*n+q] - m[p*n+p]) / (2 * apq)
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range n {
					mkp, mkq := m[k*n+p], m[k*n+q]
					m[k*n+p] = c*mkp - s*mkq
					m[k*n+q] = s*mkp + c*mkq
				}
				for k := range n {
					mpk, mqk := m[p*n+k], m[q*n+k]
					m[p*n+k] = c*mpk - s*mqk
					m[q*n+k] = s*mpk + c*mqk
				}
				for k := range n {
					vkp, vkq := v[k*n+p], v[k*n+q]
					v[k*n+p] = c*vkp - s*vkq
					v[k*n+q] = s*vkp + c*vkq
				}
			}
		}
	}
	vals = make([]float64, n)
	for i := range n {
		vals[i] = m[i*n+i]
	}
	return vals, v
}

// pinv returns the Moore-Penrose pseudo-inverse of the symmetric positive
// semi-definite matrix a (row-major n x n). Eigenvalues below a relative
// tolerance count as zero, like R's MASS::ginv, which the benchmark's script uses.
func pinv(a []float64, n int) []float64 {
	vals, vecs := symEigen(a, n)
	var top float64
	for _, l := range vals {
		top = math.Max(top, math.Abs(l))
	}
	tol := math.Sqrt(2.220446e-16) * top
	out := make([]float64, n*n)
	for k, l := range vals {
		if l <= tol {
			continue
		}
		inv := 1 / l
		for i := range n {
			vik := vecs[i*n+k] * inv
			for j := range n {
				out[i*n+j] += vik * vecs[j*n+k]
			}
		}
	}
	return out
}

// covariance returns the mean and the sample covariance (divisor k-1) of xs.
func covariance(xs [][]float64) (mean, cov []float64) {
	n := len(xs[0])
	mean = make([]float64, n)
	for _, x := range xs {
		for i, v := range x {
			mean[i] += v
		}
	}
	k := float64(len(xs))
	for i := range mean {
		mean[i] /= k
	}
	cov = make([]float64, n*n)
	d := make([]float64, n)
	for _, x := range xs {
		for i, v := range x {
			d[i] = v - mean[i]
		}
		for i := range n {
			for j := i; j < n; j++ {
				cov[i*n+j] += d[i] * d[j]
			}
		}
	}
	div := math.Max(k-1, 1)
	for i := range n {
		for j := i; j < n; j++ {
			cov[i*n+j] /= div
			cov[j*n+i] = cov[i*n+j]
		}
	}
	return mean, cov
}

// quadForm returns d' A d.
func quadForm(a []float64, d []float64) float64 {
	n := len(d)
	var s float64
	for i := range n {
		row := a[i*n : i*n+n]
		var r float64
		for j, dj := range d {
			r += row[j] * dj
		}
		s += d[i] * r
	}
	return s
}
