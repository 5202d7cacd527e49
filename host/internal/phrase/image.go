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
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gobolditalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// The phrase image is ImageWidth x ImageHeight pixels: dark text on a light
// background, sized to be shown at up to 640 CSS pixels wide and still readable at
// 320 (the phrase is lower-case letters, set as large as fits).
//
// The distortion aims at "a person reads it at a glance, off-the-shelf OCR does
// not": docs/page.md has the measurements. Each glyph is set in one of four Go
// fonts (bold, bold italic, medium, mono bold: the Go fonts by Bigelow & Holmes,
// BSD-licensed, embedded through golang.org/x/image/font/gofont), at a slightly
// different size, rotated, shifted off the baseline and spaced unevenly so that
// neighbours often touch. The whole line is then bent by a wave and by a smooth
// random displacement field, crossed by curves in the text colour (one of them
// cutting light gaps through the strokes), littered with short arcs the size of
// letter strokes, and the background is speckled.
const (
	ImageWidth  = 640
	ImageHeight = 120
)

const (
	margin   = 22 // horizontal space left free on each side, px
	maxRunes = 32 // longest text that still fits at the smallest size
	levels   = 16 // gray levels of the palette (a 4-bit PNG)
)

// Font sizes tried from the largest down until the phrase fits.
var fontSizes = []int{70, 64, 58, 54, 50, 46, 42, 38, 34, 30, 26}

// Per-glyph size factors, in percent of the line's font size.
var glyphScales = []int{90, 95, 100, 105, 110}

// Extra space after each glyph, as a fraction of the font size: negative values
// make neighbours touch, which defeats OCR's letter segmentation.
const (
	minGap = -0.05
	maxGap = 0.05
	// wordGap is added after a space, so words stay apart.
	wordGap = 0.12
)

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

// fontFiles are the faces glyphs are drawn in; italic is the slanted one.
var fontFiles = [][]byte{gobold.TTF, gobolditalic.TTF, gomedium.TTF, gomonobold.TTF}

const italic = 1

// glyph is a rasterized glyph: its coverage mask, placed relative to the dot.
type glyph struct {
	mask    *image.Alpha // bounds relative to the dot on the baseline
	advance float64
}

type glyphKey struct {
	font, size int
	r          rune
}

type faceKey struct{ font, size int }

// glyphs caches rasterized glyphs. opentype faces are not safe for concurrent use,
// so rasterizing happens under mu; cached glyphs are read-only.
var glyphs = struct {
	mu    sync.Mutex
	fonts []*opentype.Font
	faces map[faceKey]font.Face
	cache map[glyphKey]*glyph
}{faces: map[faceKey]font.Face{}, cache: map[glyphKey]*glyph{}}

// style is how one glyph of the line is set.
type style struct {
	font  int // index into fontFiles
	scale int // percent, from glyphScales
}

// glyphsFor returns the glyphs of text, glyph i in styles[i] at size, rasterizing
// any not yet cached.
func glyphsFor(text string, styles []style, size int) ([]*glyph, error) {
	glyphs.mu.Lock()
	defer glyphs.mu.Unlock()
	if glyphs.fonts == nil {
		for _, b := range fontFiles {
			f, err := opentype.Parse(b)
			if err != nil {
				return nil, fmt.Errorf("parse font: %w", err)
			}
			glyphs.fonts = append(glyphs.fonts, f)
		}
	}
	out := make([]*glyph, 0, len(styles))
	i := 0
	for _, r := range text {
		st := styles[i]
		i++
		px := (size*st.scale + 50) / 100
		key := glyphKey{st.font, px, r}
		if g, ok := glyphs.cache[key]; ok {
			out = append(out, g)
			continue
		}
		fk := faceKey{st.font, px}
		face := glyphs.faces[fk]
		if face == nil {
			var err error
			face, err = opentype.NewFace(glyphs.fonts[st.font], &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingNone})
			if err != nil {
				return nil, fmt.Errorf("font face: %w", err)
			}
			glyphs.faces[fk] = face
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
		glyphs.cache[key] = g
		out = append(out, g)
	}
	return out, nil
}

// layout picks the largest font size at which text, set in styles, fits the
// image with the widest spacing.
func layout(text string, styles []style) (gs []*glyph, width float64, size int, err error) {
	for _, size = range fontSizes {
		gs, err = glyphsFor(text, styles, size)
		if err != nil {
			return nil, 0, 0, err
		}
		var w float64
		for _, g := range gs {
			w += g.advance
		}
		w += float64(len(gs))*float64(size)*maxGap + float64(strings.Count(text, " "))*float64(size)*wordGap
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

// sample reads the canvas at a fractional position, bilinearly.
func (cv *canvas) sample(x, y float64) float32 {
	fx, fy := math.Floor(x), math.Floor(y)
	ix, iy := int(fx), int(fy)
	tx, ty := float32(x-fx), float32(y-fy)
	return (cv.at(ix, iy)*(1-tx)+cv.at(ix+1, iy)*tx)*(1-ty) +
		(cv.at(ix, iy+1)*(1-tx)+cv.at(ix+1, iy+1)*tx)*ty
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

// bezier calls plot at small steps along the cubic Bezier p0..p3.
func bezier(p [4][2]float64, steps int, plot func(x, y float64)) {
	for i := 0; i <= steps; i++ {
		t := float64(i) / float64(steps)
		u := 1 - t
		a, b, c, d := u*u*u, 3*u*u*t, 3*u*t*t, t*t*t
		plot(a*p[0][0]+b*p[1][0]+c*p[2][0]+d*p[3][0], a*p[0][1]+b*p[1][1]+c*p[2][1]+d*p[3][1])
	}
}

// curve is a random cubic Bezier across the whole image, through the text band.
func curve(rng *rand.Rand, w, h int) [4][2]float64 {
	y := func() float64 { return float64(h) * (0.3 + 0.4*rng.Float64()) }
	return [4][2]float64{
		{-10, y()},
		{float64(w) * (0.2 + 0.2*rng.Float64()), float64(h) * (-0.1 + 1.2*rng.Float64())},
		{float64(w) * (0.6 + 0.2*rng.Float64()), float64(h) * (-0.1 + 1.2*rng.Float64())},
		{float64(w) + 10, y()},
	}
}

// arc is a short random curve, about as long as a letter stroke, in the text band.
func arc(rng *rand.Rand, w, h int, size float64) [4][2]float64 {
	x, y := float64(w)*rng.Float64(), float64(h)*(0.25+0.5*rng.Float64())
	l := size * (0.35 + 0.35*rng.Float64())
	a := rng.Float64() * 2 * math.Pi
	bend := (rng.Float64()*2 - 1) * l * 0.6
	s, c := math.Sincos(a)
	return [4][2]float64{
		{x, y},
		{x + c*l/3 - s*bend, y + s*l/3 + c*bend},
		{x + 2*c*l/3 - s*bend, y + 2*s*l/3 + c*bend},
		{x + c*l, y + s*l},
	}
}

// pen calls paint for every pixel a round pen of radius r at (px, py) touches,
// with the pen's coverage of that pixel.
func (cv *canvas) pen(px, py, r float64, paint func(p *float32, c float32)) {
	for y := max(int(math.Floor(py-r-1)), 0); y <= min(int(py+r), cv.h-1); y++ {
		for x := max(int(math.Floor(px-r-1)), 0); x <= min(int(px+r), cv.w-1); x++ {
			if c := stroke(px, py, r, x, y); c > 0 {
				paint(&cv.c[y*cv.w+x], c)
			}
		}
	}
}

// stroke returns the coverage of a pen of radius r centred at (px, py) on pixel
// (x, y): 1 inside, fading to 0 over one pixel at the edge.
func stroke(px, py, r float64, x, y int) float32 {
	dx, dy := float64(x)+0.5-px, float64(y)+0.5-py
	d2, edge := dx*dx+dy*dy, r+0.5
	if d2 >= edge*edge {
		return 0
	}
	return float32(min(edge-math.Sqrt(d2), 1))
}

// field is a smooth random displacement: a coarse grid of random offsets,
// interpolated with smoothstep weights.
type field struct {
	cell   float64
	nx, ny int
	v      []float64
}

func newField(rng *rand.Rand, w, h int, cell, amp float64) *field {
	f := &field{cell: cell, nx: int(float64(w)/cell) + 2, ny: int(float64(h)/cell) + 2}
	f.v = make([]float64, f.nx*f.ny)
	for i := range f.v {
		f.v[i] = (rng.Float64()*2 - 1) * amp
	}
	return f
}

func (f *field) at(x, y float64) float64 {
	gx, gy := x/f.cell, y/f.cell
	ix, iy := int(gx), int(gy)
	tx, ty := gx-float64(ix), gy-float64(iy)
	tx, ty = tx*tx*(3-2*tx), ty*ty*(3-2*ty)
	ix, iy = min(max(ix, 0), f.nx-2), min(max(iy, 0), f.ny-2)
	v := func(i, j int) float64 { return f.v[j*f.nx+i] }
	return (v(ix, iy)*(1-tx)+v(ix+1, iy)*tx)*(1-ty) + (v(ix, iy+1)*(1-tx)+v(ix+1, iy+1)*tx)*ty
}

// ErrText: the text is empty or too long to render.
var ErrText = errors.New("phrase: text empty or too long")

// Image renders text as a PNG of ImageWidth x ImageHeight pixels, distorted
// differently on every call.
func Image(text string) ([]byte, error) {
	if text == "" || utf8.RuneCountInString(text) > maxRunes {
		return nil, ErrText
	}
	return render(text, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
}

func render(text string, rng *rand.Rand) ([]byte, error) {
	styles := make([]style, utf8.RuneCountInString(text))
	for i := range styles {
		styles[i] = style{font: rng.IntN(len(fontFiles)), scale: glyphScales[rng.IntN(len(glyphScales))]}
	}
	gs, width, fontSize, err := layout(text, styles)
	if err != nil {
		return nil, err
	}
	const w, h = ImageWidth, ImageHeight
	cv := &canvas{w: w, h: h, c: make([]float32, w*h)}

	// Glyphs: uneven spacing (neighbours often touch), baseline jitter, rotation.
	size := float64(fontSize)
	x := (w - width) / 2
	baseline := float64(h)/2 + size*0.3
	i := 0
	for _, r := range text {
		g, st := gs[i], styles[i]
		i++
		jitterY := (rng.Float64()*2 - 1) * float64(h) * 0.06
		tilt := 0.22
		if st.font == italic {
			tilt = 0.12 // the face is slanted already
		}
		cv.drawGlyph(g, x, baseline+jitterY, (rng.Float64()*2-1)*tilt)
		if r == ' ' {
			x += g.advance + size*wordGap
			continue
		}
		x += g.advance + size*(minGap+(maxGap-minGap)*rng.Float64())
	}

	// Bend the line: a wave along it plus a smooth random displacement field.
	amp, period, phase := 4+3*rng.Float64(), 170+110*rng.Float64(), 2*math.Pi*rng.Float64()
	fx, fy := newField(rng, w, h, 44, 3.2), newField(rng, w, h, 44, 3.2)
	bent := make([]float32, w*h)
	for col := range w {
		wave := amp * math.Sin(2*math.Pi*float64(col)/period+phase)
		for row := range h {
			sx := float64(col) + fx.at(float64(col), float64(row))
			sy := float64(row) - wave + fy.at(float64(col), float64(row))
			bent[row*w+col] = cv.sample(sx, sy)
		}
	}
	cv.c = bent

	// Curves in the text colour across the line, short arcs like stray letter
	// strokes, and one light curve cutting gaps through the strokes.
	dark := func(r float64, a float32) func(px, py float64) {
		return func(px, py float64) {
			cv.pen(px, py, r, func(p *float32, c float32) { *p = max(*p, c*a) })
		}
	}
	for range 2 + rng.IntN(2) {
		bezier(curve(rng, w, h), 700, dark(0.8+0.7*rng.Float64(), float32(0.8+0.2*rng.Float64())))
	}
	for range 2 + rng.IntN(2) {
		bezier(arc(rng, w, h, size), 80, dark(1+0.8*rng.Float64(), float32(0.85+0.15*rng.Float64())))
	}
	bezier(curve(rng, w, h), 700, func(px, py float64) {
		cv.pen(px, py, 0.7, func(p *float32, c float32) { *p *= 1 - 0.8*c })
	})

	img := image.NewPaletted(image.Rect(0, 0, w, h), palette)
	for i, c := range cv.c {
		img.Pix[i] = uint8(math.Round(float64(min(max(c, 0), 1)) * (levels - 1)))
	}
	// Light speckle on the background.
	for range 260 {
		i := rng.IntN(w * h)
		if img.Pix[i] == 0 {
			img.Pix[i] = uint8(2 + rng.IntN(3))
		}
	}

	buf := bytes.NewBuffer(make([]byte, 0, 12<<10))
	enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers}
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
