package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The Kubernetes example runs SMS+ as the image expects: probes on /healthz and
// /readyz, non-root on a read-only root with a writable /tmp, settings from a
// Secret it defines, a Service that selects its pods.

func TestKubernetesExample(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no deploy/kubernetes/*.yaml: %v", err)
	}
	type object = map[string]any
	byKind := map[string][]object{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var obj object
			if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if kind, _ := obj["kind"].(string); kind != "" {
				byKind[kind] = append(byKind[kind], obj)
			}
		}
	}
	get := func(o any, keys ...string) any {
		for _, k := range keys {
			m, ok := o.(object)
			if !ok {
				return nil
			}
			o = m[k]
		}
		return o
	}
	if len(byKind["Deployment"]) != 1 || len(byKind["Service"]) != 1 || len(byKind["Secret"]) == 0 {
		t.Fatalf("want one Deployment, one Service and a Secret; have %v", slices.Collect(func(yield func(string) bool) {
			for k := range byKind {
				if !yield(k) {
					return
				}
			}
		}))
	}
	dep := byKind["Deployment"][0]
	pod := get(dep, "spec", "template", "spec")
	containers, _ := get(pod, "containers").([]any)
	if len(containers) != 1 {
		t.Fatalf("want one container, have %d", len(containers))
	}
	c := containers[0]
	if get(c, "readinessProbe", "httpGet", "path") != "/readyz" || get(c, "livenessProbe", "httpGet", "path") != "/healthz" {
		t.Errorf("probes: readiness %v, liveness %v", get(c, "readinessProbe"), get(c, "livenessProbe"))
	}
	if get(pod, "securityContext", "runAsNonRoot") != true || get(c, "securityContext", "readOnlyRootFilesystem") != true ||
		get(c, "securityContext", "allowPrivilegeEscalation") != false {
		t.Errorf("securityContext: pod %v, container %v", get(pod, "securityContext"), get(c, "securityContext"))
	}
	mountsTmp := false
	for _, m := range get(c, "volumeMounts").([]any) {
		mountsTmp = mountsTmp || get(m, "mountPath") == "/tmp"
	}
	if !mountsTmp {
		t.Error("a read-only root file system needs a writable /tmp for the plugin sockets")
	}
	secrets := map[string]bool{}
	for _, s := range byKind["Secret"] {
		secrets[fmt.Sprint(get(s, "metadata", "name"))] = true
	}
	usesSecret := false
	for _, e := range get(c, "envFrom").([]any) {
		if name := get(e, "secretRef", "name"); name != nil {
			usesSecret = true
			if !secrets[fmt.Sprint(name)] {
				t.Errorf("envFrom names Secret %v, which the example does not define", name)
			}
		}
	}
	if !usesSecret {
		t.Error("the Deployment takes no settings from a Secret")
	}
	labels, _ := get(dep, "spec", "template", "metadata", "labels").(object)
	selector, _ := get(byKind["Service"][0], "spec", "selector").(object)
	for k, v := range selector {
		if labels[k] != v {
			t.Errorf("the Service selects %s=%v, the pods carry %v", k, v, labels[k])
		}
	}
}
