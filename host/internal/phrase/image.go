package phrase

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// The phrase image is ImageWidth x ImageHeight pixels: dark text on a light
// background, sized to be shown at up to 640 CSS pixels wide and still readable at
// 320. The text is set in Go Bold (the Go fonts, BSD-licensed, embedded through
// golang.org/x/image/font/gofont) and mildly distorted so that copying it by OCR
// takes some work while a person reads it at a glance: each glyph is slightly
// rotated, shifted off the baseline and spaced unevenly, the line follows a gentle
// wave, a few thin curves cross it (one of them cutting light gaps through the
// strokes), and the background is speckled.
const (
	ImageWidth  = 640
	ImageHeight = 120
)

const (
	margin   = 24 // horizontal space left free on each side, px
	maxRunes = 32 // longest text that still fits at the smallest size
	levels   = 16 // gray levels of the palette (a 4-bit PNG)
)

// Font sizes tried from the largest down until the phrase fits.
var fontSizes = []int{56, 52, 48, 44, 40, 36, 32, 28, 24}

// palette runs from the background (index 0) to the text colour (last index).
var palette = func() color.Palette {
	const bg, fg = 0xf6, 0x1c
	p := make(color.Palette, levels)
	for i := range p {
		v := uint8(bg - (bg-fg)*i/(levels-1))
		p[i] = color.Gray{Y: v}
	}
	return p
}()

// glyph is a rasterized glyph: its coverage mask, placed relative to the dot.
type glyph struct {
	mask    *image.Alpha // bounds relative to the dot on the baseline
	advance float64
}

type glyphKey struct {
	size int
	r    rune
}

// glyphs caches rasterized glyphs. opentype faces are not safe for concurrent use,
// so rasterizing happens under mu; cached glyphs are read-only.
var glyphs = struct {
	mu    sync.Mutex
	faces map[int]font.Face
	cache map[glyphKey]*glyph
}{faces: map[int]font.Face{}, cache: map[glyphKey]*glyph{}}

var boldFont = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(gobold.TTF) })

// glyphsFor returns the glyphs of text at size, rasterizing any not yet cached.
func glyphsFor(text string, size int) ([]*glyph, error) {
	glyphs.mu.Lock()
	defer glyphs.mu.Unlock()
	out := make([]*glyph, 0, len(text))
	for _, r := range text {
		if g, ok := glyphs.cache[glyphKey{size, r}]; ok {
			out = append(out, g)
			continue
		}
		face := glyphs.faces[size]
		if face == nil {
			f, err := boldFont()
			if err != nil {
				return nil, fmt.Errorf("parse font: %w", err)
			}
			face, err = opentype.NewFace(f, &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingNone})
			if err != nil {
				return nil, fmt.Errorf("font face: %w", err)
			}
			glyphs.faces[size] = face
		}
		dr, mask, mp, adv, ok := face.Glyph(fixed.Point26_6{}, r)
		if !ok {
			dr, mask, mp, adv, _ = face.Glyph(fixed.Point26_6{}, '?')
		}
		m := image.NewAlpha(dr)
		for y := dr.Min.Y; y < dr.Max.Y; y++ {
			for x := dr.Min.X; x < dr.Max.X; x++ {
				_, _, _, a := mask.At(mp.X+x-dr.Min.X, mp.Y+y-dr.Min.Y).RGBA()
				m.Pix[m.PixOffset(x, y)] = uint8(a >> 8)
			}
		}
		g := &glyph{mask: m, advance: float64(adv) / 64}
		glyphs.cache[glyphKey{size, r}] = g
		out = append(out, g)
	}
	return out, nil
}

// layout picks the largest font size at which text fits the image.
func layout(text string) (gs []*glyph, width float64, size int, err error) {
	for _, size = range fontSizes {
		gs, err = glyphsFor(text, size)
		if err != nil {
			return nil, 0, 0, err
		}
		var w float64
		for _, g := range gs {
			w += g.advance
		}
		// Leave room for the extra spacing added between glyphs.
		w += float64(len(gs)) * float64(size) * 0.06
		if w <= ImageWidth-2*margin || size == fontSizes[len(fontSizes)-1] {
			return gs, w, size, nil
		}
	}
	panic("unreachable")
}

// canvas is a coverage map of the image, 0 (background) to 1 (text colour).
type canvas struct {
	w, h int
	c    []float32
}

func (cv *canvas) at(x, y int) float32 {
	if x < 0 || y < 0 || x >= cv.w || y >= cv.h {
		return 0
	}
	return cv.c[y*cv.w+x]
}

// over adds coverage a at (x, y), the way paint over paint darkens.
func (cv *canvas) over(x, y int, a float32) {
	if x < 0 || y < 0 || x >= cv.w || y >= cv.h || a <= 0 {
		return
	}
	p := &cv.c[y*cv.w+x]
	*p += a * (1 - *p)
}

// drawGlyph draws g rotated by angle (radians) around its centre, with its dot at
// (ox, oy), sampling the mask bilinearly.
func (cv *canvas) drawGlyph(g *glyph, ox, oy, angle float64) {
	b := g.mask.Bounds()
	if b.Empty() {
		return
	}
	cx, cy := float64(b.Min.X+b.Max.X)/2, float64(b.Min.Y+b.Max.Y)/2
	sin, cos := math.Sincos(angle)
	// Destination box: the rotated mask's bounding box, with a pixel to spare.
	r := math.Hypot(float64(b.Dx()), float64(b.Dy()))/2 + 1
	x0, x1 := int(math.Floor(ox+cx-r)), int(math.Ceil(ox+cx+r))
	y0, y1 := int(math.Floor(oy+cy-r)), int(math.Ceil(oy+cy+r))
	sample := func(x, y int) float64 {
		if !(image.Point{x, y}.In(b)) {
			return 0
		}
		return float64(g.mask.Pix[g.mask.PixOffset(x, y)]) / 255
	}
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			// Inverse mapping: destination pixel centre back into the mask.
			dx, dy := float64(x)+0.5-ox-cx, float64(y)+0.5-oy-cy
			sx := cos*dx + sin*dy + cx - 0.5
			sy := -sin*dx + cos*dy + cy - 0.5
			fx, fy := math.Floor(sx), math.Floor(sy)
			ix, iy := int(fx), int(fy)
			tx, ty := sx-fx, sy-fy
			a := (sample(ix, iy)*(1-tx)+sample(ix+1, iy)*tx)*(1-ty) +
				(sample(ix, iy+1)*(1-tx)+sample(ix+1, iy+1)*tx)*ty
			cv.over(x, y, float32(a))
		}
	}
}

// curve calls plot at small steps along a cubic Bezier across the image.
func curve(rng *rand.Rand, w, h int, plot func(x, y float64)) {
	y := func() float64 { return float64(h) * (0.2 + 0.6*rng.Float64()) }
	p0x, p0y := -10.0, y()
	p1x, p1y := float64(w)*(0.2+0.2*rng.Float64()), float64(h)*(-0.2+1.4*rng.Float64())
	p2x, p2y := float64(w)*(0.6+0.2*rng.Float64()), float64(h)*(-0.2+1.4*rng.Float64())
	p3x, p3y := float64(w)+10, y()
	const steps = 900
	for i := 0; i <= steps; i++ {
		t := float64(i) / steps
		u := 1 - t
		a, b, c, d := u*u*u, 3*u*u*t, 3*u*t*t, t*t*t
		plot(a*p0x+b*p1x+c*p2x+d*p3x, a*p0y+b*p1y+c*p2y+d*p3y)
	}
}

// pen calls paint for every pixel a round pen of radius r (at most 1.5) at
// (px, py) touches, with the pen's coverage of that pixel.
func (cv *canvas) pen(px, py, r float64, paint func(p *float32, c float32)) {
	for y := int(py) - 2; y <= int(py)+2; y++ {
		for x := int(px) - 2; x <= int(px)+2; x++ {
			if x < 0 || y < 0 || x >= cv.w || y >= cv.h {
				continue
			}
			if c := stroke(px, py, r, x, y); c > 0 {
				paint(&cv.c[y*cv.w+x], c)
			}
		}
	}
}

// stroke returns the coverage of a pen of radius r centred at (px, py) on pixel
// (x, y): 1 inside, fading to 0 over one pixel at the edge.
func stroke(px, py, r float64, x, y int) float32 {
	d := math.Hypot(float64(x)+0.5-px, float64(y)+0.5-py)
	return float32(math.Min(math.Max(r+0.5-d, 0), 1))
}

// ErrText: the text is empty or too long to render.
var ErrText = errors.New("phrase: text empty or too long")

// Image renders text as a PNG of ImageWidth x ImageHeight pixels.
func Image(text string) ([]byte, error) {
	if text == "" || utf8.RuneCountInString(text) > maxRunes {
		return nil, ErrText
	}
	gs, width, fontSize, err := layout(text)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	const w, h = ImageWidth, ImageHeight
	cv := &canvas{w: w, h: h, c: make([]float32, w*h)}

	// Glyphs: uneven spacing, baseline jitter, small rotations.
	size := float64(fontSize)
	x := (w - width) / 2
	baseline := float64(h)/2 + size*0.32
	for _, g := range gs {
		jitterY := (rng.Float64()*2 - 1) * float64(h) * 0.05
		angle := (rng.Float64()*2 - 1) * 0.14
		cv.drawGlyph(g, x, baseline+jitterY, angle)
		x += g.advance + size*0.06*rng.Float64()
	}

	// A gentle vertical wave over the whole line.
	amp, period, phase := 2.5+2*rng.Float64(), 180+120*rng.Float64(), 2*math.Pi*rng.Float64()
	waved := make([]float32, w*h)
	for col := 0; col < w; col++ {
		off := amp * math.Sin(2*math.Pi*float64(col)/period+phase)
		fo := math.Floor(off)
		shift, t := int(fo), float32(off-fo)
		for row := 0; row < h; row++ {
			waved[row*w+col] = cv.at(col, row-shift)*(1-t) + cv.at(col, row-shift-1)*t
		}
	}
	cv.c = waved

	// Thin dark curves across the line, and one light curve cutting through it.
	for range 2 + rng.IntN(2) {
		r, a := 0.6+0.4*rng.Float64(), float32(0.55+0.25*rng.Float64())
		curve(rng, w, h, func(px, py float64) {
			cv.pen(px, py, r, func(p *float32, c float32) { *p = max(*p, c*a) })
		})
	}
	curve(rng, w, h, func(px, py float64) {
		cv.pen(px, py, 0.5, func(p *float32, c float32) { *p *= 1 - 0.7*c })
	})

	img := image.NewPaletted(image.Rect(0, 0, w, h), palette)
	for i, c := range cv.c {
		img.Pix[i] = uint8(math.Round(float64(min(max(c, 0), 1)) * (levels - 1)))
	}
	// Light speckle on the background.
	for range 220 {
		i := rng.IntN(w * h)
		if img.Pix[i] == 0 {
			img.Pix[i] = uint8(2 + rng.IntN(3))
		}
	}

	buf := bytes.NewBuffer(make([]byte, 0, 12<<10))
	enc := png.Encoder{CompressionLevel: png.DefaultCompression, BufferPool: &pngBuffers}
	if err := enc.Encode(buf, img); err != nil {
		return nil, fmt.Errorf("encode phrase image: %w", err)
	}
	return buf.Bytes(), nil
}

// pngBuffers lets the encoder reuse its buffers across calls.
var pngBuffers pool

type pool struct{ p sync.Pool }

func (b *pool) Get() *png.EncoderBuffer {
	v, _ := b.p.Get().(*png.EncoderBuffer)
	return v
}

func (b *pool) Put(v *png.EncoderBuffer) { b.p.Put(v) }

// DataURI renders text and returns it as a data: URL for an <img src>.
func DataURI(text string) (template.URL, error) {
	b, err := Image(text)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b)), nil
}
