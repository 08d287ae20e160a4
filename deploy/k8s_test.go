package deploy

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The manifests under deploy/k8s are checked without a cluster: each
// document decodes strictly (unknown fields fail) into the structs below,
// which mirror the Kubernetes API fields the manifests use, with the API's
// own names and types. This is a schema check of those fields only, not of
// the whole API: k8s.io/api would pull the Kubernetes modules into go.mod
// for one test, and a field the structs do not know fails here, so a new
// field means extending them from the API reference.
const k8sDir = "k8s"

type k8sMeta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels,omitempty"`
}

type k8sSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"` // a named container port
	} `yaml:"httpGet"`
	PeriodSeconds    int `yaml:"periodSeconds"`
	TimeoutSeconds   int `yaml:"timeoutSeconds"`
	FailureThreshold int `yaml:"failureThreshold"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Args    []string `yaml:"args"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
}

type k8sPodTemplate struct {
	Metadata k8sMeta `yaml:"metadata"`
	Spec     struct {
		RestartPolicy                 string `yaml:"restartPolicy"`
		TerminationGracePeriodSeconds int    `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               struct {
			RunAsNonRoot bool `yaml:"runAsNonRoot"`
			RunAsUser    int  `yaml:"runAsUser"`
		} `yaml:"securityContext"`
		Volumes []struct {
			Name   string `yaml:"name"`
			Secret *struct {
				SecretName string `yaml:"secretName"`
				Optional   bool   `yaml:"optional"`
			} `yaml:"secret"`
		} `yaml:"volumes"`
		Containers []k8sContainer `yaml:"containers"`
	} `yaml:"spec"`
}

type k8sDeployment struct {
	Spec struct {
		Replicas int         `yaml:"replicas"`
		Selector k8sSelector `yaml:"selector"`
		Strategy struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxUnavailable int `yaml:"maxUnavailable"`
				MaxSurge       int `yaml:"maxSurge"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template k8sPodTemplate `yaml:"template"`
	} `yaml:"spec"`
}

type k8sJob struct {
	Spec struct {
		BackoffLimit            int            `yaml:"backoffLimit"`
		TTLSecondsAfterFinished int            `yaml:"ttlSecondsAfterFinished"`
		Template                k8sPodTemplate `yaml:"template"`
	} `yaml:"spec"`
}

type k8sService struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type k8sPDB struct {
	Spec struct {
		MinAvailable int         `yaml:"minAvailable"`
		Selector     k8sSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type k8sSecret struct {
	Type       string            `yaml:"type"`
	StringData map[string]string `yaml:"stringData"`
}

// k8sObject is one decoded document: its kind and, by kind, its spec.
type k8sObject struct {
	APIVersion string
	Kind       string
	Metadata   k8sMeta
	File       string
	Deployment *k8sDeployment
	Job        *k8sJob
	Service    *k8sService
	PDB        *k8sPDB
	Secret     *k8sSecret
}

// k8sKinds are the apiVersion and kind pairs the manifests may use.
var k8sKinds = map[string]func(o *k8sObject) any{
	"apps/v1 Deployment":            func(o *k8sObject) any { o.Deployment = &k8sDeployment{}; return o.Deployment },
	"batch/v1 Job":                  func(o *k8sObject) any { o.Job = &k8sJob{}; return o.Job },
	"v1 Service":                    func(o *k8sObject) any { o.Service = &k8sService{}; return o.Service },
	"policy/v1 PodDisruptionBudget": func(o *k8sObject) any { o.PDB = &k8sPDB{}; return o.PDB },
	"v1 Secret":                     func(o *k8sObject) any { o.Secret = &k8sSecret{}; return o.Secret },
}

// strictDecode decodes one YAML node into v, failing on a field v lacks.
func strictDecode(node *yaml.Node, v any) error {
	raw, err := yaml.Marshal(node)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	return dec.Decode(v)
}

func decodeManifest(t *testing.T, file string) []k8sObject {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(k8sDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var out []k8sObject
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var node yaml.Node
		if err := dec.Decode(&node); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var head struct {
			APIVersion string         `yaml:"apiVersion"`
			Kind       string         `yaml:"kind"`
			Metadata   k8sMeta        `yaml:"metadata"`
			Rest       map[string]any `yaml:",inline"`
		}
		if err := node.Decode(&head); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		o := k8sObject{APIVersion: head.APIVersion, Kind: head.Kind, Metadata: head.Metadata, File: file}
		spec, ok := k8sKinds[head.APIVersion+" "+head.Kind]
		if !ok {
			t.Fatalf("%s: %s %s is not a kind these checks know", file, head.APIVersion, head.Kind)
		}
		body := spec(&o)
		delete(head.Rest, "apiVersion")
		rest, _ := yaml.Marshal(head.Rest)
		var restNode yaml.Node
		if err := yaml.Unmarshal(rest, &restNode); err != nil {
			t.Fatal(err)
		}
		if err := strictDecode(&restNode, body); err != nil {
			t.Errorf("%s: %s %s: %v", file, head.Kind, head.Metadata.Name, err)
		}
		if o.Metadata.Name == "" {
			t.Errorf("%s: a %s without metadata.name", file, head.Kind)
		}
		out = append(out, o)
	}
}

// k8sManifests decodes every file the kustomization applies.
func k8sManifests(t *testing.T) []k8sObject {
	t.Helper()
	var kust struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Labels     []struct {
			Pairs map[string]string `yaml:"pairs"`
		} `yaml:"labels"`
		Resources []string `yaml:"resources"`
		Images    []struct {
			Name   string `yaml:"name"`
			NewTag string `yaml:"newTag"`
		} `yaml:"images"`
	}
	dec := yaml.NewDecoder(strings.NewReader(readFile(t, filepath.Join(k8sDir, "kustomization.yaml"))))
	dec.KnownFields(true)
	if err := dec.Decode(&kust); err != nil || kust.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: %v (kind %q)", err, kust.Kind)
	}
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	var want []string
	for _, f := range files {
		if name := filepath.Base(f); name != "kustomization.yaml" && name != "secret.example.yaml" {
			want = append(want, name)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(kust.Resources)), want) {
		t.Errorf("kustomization.yaml applies %v, the directory has %v (secret.example.yaml stays out)", kust.Resources, want)
	}
	var out []k8sObject
	for _, f := range kust.Resources {
		out = append(out, decodeManifest(t, f)...)
	}
	return out
}

// quantity is the form of a Kubernetes resource quantity (e.g. 250m, 128Mi).
var quantity = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|k|M|G|Ki|Mi|Gi)?$`)

func (c k8sContainer) port(name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func (c k8sContainer) env(name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// checkPod checks what every OfficeX pod needs: the officex image running
// its subcommand, configuration from the Secret, requests, a non-root user.
func checkPod(t *testing.T, where string, pod k8sPodTemplate, command, secret string) k8sContainer {
	t.Helper()
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", where, len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if c.Image != "officex" || !slices.Equal(c.Args, []string{command}) {
		t.Errorf("%s: runs %s %v, want the officex image (set by the kustomization) with %q", where, c.Image, c.Args, command)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != secret {
		t.Errorf("%s: configuration not from the Secret %s: %+v", where, secret, c.EnvFrom)
	}
	for _, e := range c.Env {
		if !slices.Contains(designVariables, e.Name) {
			t.Errorf("%s sets %s, which DESIGN.md section 8 does not define", where, e.Name)
		}
	}
	for _, r := range []string{"cpu", "memory"} {
		if !quantity.MatchString(c.Resources.Requests[r]) {
			t.Errorf("%s: resource request %s = %q", where, r, c.Resources.Requests[r])
		}
	}
	if !pod.Spec.SecurityContext.RunAsNonRoot || pod.Spec.SecurityContext.RunAsUser != 65532 {
		t.Errorf("%s: want runAsNonRoot as the image's user 65532", where)
	}
	if lim := c.Resources.Limits["memory"]; lim != "" && !quantity.MatchString(lim) {
		t.Errorf("%s: memory limit %q", where, lim)
	}
	return c
}

// listenPort is the port of an OFFICEX_*_ADDR value such as ":9090".
func listenPort(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("listen address %q: %v", addr, err)
	}
	return port
}

func checkReadiness(t *testing.T, where string, c k8sContainer, portName, addrVariable string) {
	t.Helper()
	p := c.ReadinessProbe
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port != portName {
		t.Errorf("%s: readiness %+v, want GET /readyz on port %s", where, p, portName)
		return
	}
	if got := listenPort(t, c.env(addrVariable)); got == "" || got != strconv.Itoa(c.port(portName)) {
		t.Errorf("%s: probes port %s (%d) but %s listens on %q", where, portName, c.port(portName), addrVariable, c.env(addrVariable))
	}
}

func TestK8s_ManifestsDecodeStrictlyAndHangTogether(t *testing.T) {
	objs := k8sManifests(t)
	secret := decodeManifest(t, "secret.example.yaml")
	if len(secret) != 1 || secret[0].Secret == nil {
		t.Fatalf("secret.example.yaml: want one Secret")
	}
	secretName := secret[0].Metadata.Name
	for name := range secret[0].Secret.StringData {
		if !slices.Contains(designVariables, name) {
			t.Errorf("secret.example.yaml sets %s, which DESIGN.md section 8 does not define", name)
		}
	}
	byKind := map[string]map[string]k8sObject{}
	for _, o := range objs {
		if byKind[o.Kind] == nil {
			byKind[o.Kind] = map[string]k8sObject{}
		}
		byKind[o.Kind][o.Metadata.Name] = o
	}
	labelsOf := map[string]map[string]string{} // Deployment name -> pod labels
	for _, want := range []struct{ name, command, readyPort, readyAddr string }{
		{"officex-serve", "serve", "http", "OFFICEX_HTTP_ADDR"},
		{"officex-worker", "worker", "metrics", "OFFICEX_METRICS_ADDR"},
	} {
		d, ok := byKind["Deployment"][want.name]
		if !ok {
			t.Errorf("no Deployment %s", want.name)
			continue
		}
		spec := d.Deployment.Spec
		c := checkPod(t, want.name, spec.Template, want.command, secretName)
		checkReadiness(t, want.name, c, want.readyPort, want.readyAddr)
		if !isSubset(spec.Selector.MatchLabels, spec.Template.Metadata.Labels) || len(spec.Selector.MatchLabels) == 0 {
			t.Errorf("%s: selector %v does not select its pods %v", want.name, spec.Selector.MatchLabels, spec.Template.Metadata.Labels)
		}
		if spec.Replicas < 2 || spec.Strategy.RollingUpdate.MaxUnavailable != 0 {
			t.Errorf("%s: %d replicas, maxUnavailable %d; want at least 2 and none unavailable during a rollout",
				want.name, spec.Replicas, spec.Strategy.RollingUpdate.MaxUnavailable)
		}
		labelsOf[want.name] = spec.Template.Metadata.Labels
	}
	serve := byKind["Deployment"]["officex-serve"].Deployment
	if serve != nil {
		c := serve.Spec.Template.Spec.Containers[0]
		if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
			t.Errorf("officex-serve: liveness %+v, want /healthz (not /readyz: a dependency outage must not restart pods)", c.LivenessProbe)
		}
	}
	svc, ok := byKind["Service"]["officex"]
	if !ok {
		t.Fatal("no Service officex")
	}
	if !maps.Equal(svc.Service.Spec.Selector, labelsOf["officex-serve"]) {
		t.Errorf("Service selects %v, the API pods are %v", svc.Service.Spec.Selector, labelsOf["officex-serve"])
	}
	for _, p := range svc.Service.Spec.Ports {
		if serve != nil && serve.Spec.Template.Spec.Containers[0].port(p.TargetPort) == 0 {
			t.Errorf("Service port %s targets %q, which the API container does not declare", p.Name, p.TargetPort)
		}
	}
	for name, pdb := range byKind["PodDisruptionBudget"] {
		matched := ""
		for dep, labels := range labelsOf {
			if len(pdb.PDB.Spec.Selector.MatchLabels) > 0 && isSubset(pdb.PDB.Spec.Selector.MatchLabels, labels) {
				matched = dep
			}
		}
		if matched == "" || pdb.PDB.Spec.MinAvailable < 1 ||
			pdb.PDB.Spec.MinAvailable >= byKind["Deployment"][matched].Deployment.Spec.Replicas {
			t.Errorf("PodDisruptionBudget %s: selects %q with minAvailable %d; want a Deployment, at least 1 and fewer than its replicas",
				name, matched, pdb.PDB.Spec.MinAvailable)
		}
	}
	if len(byKind["PodDisruptionBudget"]) < 1 {
		t.Error("no PodDisruptionBudget")
	}
	job, ok := byKind["Job"]["officex-migrate"]
	if !ok {
		t.Fatal("no Job officex-migrate")
	}
	checkPod(t, "officex-migrate", job.Job.Spec.Template, "migrate", secretName)
	if rp := job.Job.Spec.Template.Spec.RestartPolicy; rp != "Never" && rp != "OnFailure" {
		t.Errorf("officex-migrate: restartPolicy %q, want Never or OnFailure (a Job's pods must end)", rp)
	}
}

// temporalTLSSecret is the Secret with Temporal Cloud's mTLS client
// certificate that the pods dialling Temporal mount, if it exists.
const temporalTLSSecret = "officex-temporal-tls"

// temporalTLSPath is a TEMPORAL_TLS_* file setting in secret.example.yaml,
// commented out or not (Temporal Cloud is the commented alternative).
var temporalTLSPath = regexp.MustCompile(`(?m)^\s*#?\s*(TEMPORAL_TLS_(?:CERT|KEY|CA)):\s*(\S+)\s*$`)

// The API and worker pods mount the optional Secret with the client
// certificate read-only, where secret.example.yaml tells TEMPORAL_TLS_CERT
// and TEMPORAL_TLS_KEY to look; the pods start without it.
func TestK8s_TemporalClientCertificateIsWhereTheSecretSaysAndOptional(t *testing.T) {
	example := readFile(t, filepath.Join(k8sDir, "secret.example.yaml"))
	paths := map[string]string{}
	for _, m := range temporalTLSPath.FindAllStringSubmatch(example, -1) {
		paths[m[1]] = m[2]
	}
	if paths["TEMPORAL_TLS_CERT"] == "" || paths["TEMPORAL_TLS_KEY"] == "" {
		t.Fatalf("secret.example.yaml documents no TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY paths (found %v)", paths)
	}
	for _, o := range k8sManifests(t) {
		if o.Deployment == nil {
			continue
		}
		pod := o.Deployment.Spec.Template
		volume := ""
		for _, v := range pod.Spec.Volumes {
			if v.Secret != nil && v.Secret.SecretName == temporalTLSSecret {
				volume = v.Name
				if !v.Secret.Optional {
					t.Errorf("%s: the Secret %s is not optional: pods would not start without Temporal Cloud", o.Metadata.Name, temporalTLSSecret)
				}
			}
		}
		if volume == "" {
			t.Errorf("%s: no volume from the Secret %s", o.Metadata.Name, temporalTLSSecret)
			continue
		}
		for _, c := range pod.Spec.Containers {
			mounted := ""
			for _, m := range c.VolumeMounts {
				if m.Name == volume {
					mounted = m.MountPath
					if !m.ReadOnly {
						t.Errorf("%s: %s mounted writable", o.Metadata.Name, volume)
					}
				}
			}
			for name, path := range paths {
				if mounted == "" || filepath.Dir(path) != filepath.Clean(mounted) {
					t.Errorf("%s: %s=%s, but the certificate Secret is mounted at %q", o.Metadata.Name, name, path, mounted)
				}
			}
		}
	}
}

func TestK8s_StrictDecodingRejectsAMisspeltField(t *testing.T) {
	var node yaml.Node
	if err := yaml.Unmarshal([]byte("spec:\n  replicas: 2\n  replica: 3\n"), &node); err != nil {
		t.Fatal(err)
	}
	if err := strictDecode(&node, &k8sDeployment{}); err == nil {
		t.Error("a misspelt field (replica) decoded without an error: the manifest check would miss typos")
	}
}

func isSubset(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return true
}
