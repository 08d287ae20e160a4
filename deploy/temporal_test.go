package deploy

import (
	"bufio"
	"bytes"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/officex/officex/workflows"
)

// deploy/temporal holds the one Temporal configuration docker-compose.yml
// and scripts/topology.sh share; these tests read both the way they use it.
const (
	temporalDir    = "temporal"
	temporalConfig = temporalDir + "/officex.yaml"
	topologyEnv    = temporalDir + "/topology.env"
	topologyScript = "../scripts/topology.sh"
	// temporalMount is where compose mounts deploy/temporal in its containers.
	temporalMount = "/etc/temporal/officex"
)

// serverConfig is the part of Temporal's server configuration the topology
// depends on (go.temporal.io/server/common/config field names).
type serverConfig struct {
	Persistence struct {
		NumHistoryShards int    `yaml:"numHistoryShards"`
		DefaultStore     string `yaml:"defaultStore"`
		VisibilityStore  string `yaml:"visibilityStore"`
		Datastores       map[string]struct {
			SQL *struct {
				PluginName   string `yaml:"pluginName"`
				DatabaseName string `yaml:"databaseName"`
				ConnectAddr  string `yaml:"connectAddr"`
				User         string `yaml:"user"`
			} `yaml:"sql"`
		} `yaml:"datastores"`
	} `yaml:"persistence"`
	Services map[string]struct {
		RPC struct {
			GRPCPort       int    `yaml:"grpcPort"`
			MembershipPort int    `yaml:"membershipPort"`
			HTTPPort       int    `yaml:"httpPort"`
			BindOnIP       string `yaml:"bindOnIP"`
		} `yaml:"rpc"`
	} `yaml:"services"`
}

// renderTemporalConfig renders officex.yaml as Temporal's config loader does
// (a Go template over the environment), with env and default behaving as
// Sprig's. Only those two functions are defined: the file promises to use no
// others, and a template that does fails here.
func renderTemporalConfig(t *testing.T, env map[string]string) serverConfig {
	t.Helper()
	raw, err := os.ReadFile(temporalConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw[:min(len(raw), 1024)]), "# enable-template") {
		t.Fatalf("%s lost its enable-template comment: Temporal would read the template unrendered", temporalConfig)
	}
	funcs := template.FuncMap{
		"env": func(name string) string { return env[name] },
		"default": func(def string, given ...string) string {
			if len(given) == 0 || given[0] == "" {
				return def
			}
			return given[0]
		},
	}
	tpl, err := template.New("officex.yaml").Funcs(funcs).Parse(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", temporalConfig, err)
	}
	var out bytes.Buffer
	if err := tpl.Execute(&out, nil); err != nil {
		t.Fatalf("%s: %v", temporalConfig, err)
	}
	var cfg serverConfig
	if err := yaml.Unmarshal(out.Bytes(), &cfg); err != nil {
		t.Fatalf("%s renders to invalid YAML: %v\n%s", temporalConfig, err, out.String())
	}
	return cfg
}

// composeTemporalEnv is the temporal service's environment in docker-compose.yml.
func composeTemporalEnv(t *testing.T, name string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range service(t, mustLoadCompose(t, userEnv), name).Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

// readTopologyEnv parses deploy/temporal/topology.env (KEY=VALUE lines).
func readTopologyEnv(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(topologyEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(v, " \"'$") {
			t.Fatalf("%s: %q is not a plain KEY=VALUE line", topologyEnv, line)
		}
		env[k] = v
	}
	return env
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// checkRendered checks what both topologies need of the rendered config:
// PostgreSQL for both stores on the databases env names, and four services
// on ports of their own (the topology runs them as processes on one host).
func checkRendered(t *testing.T, where string, cfg serverConfig, env map[string]string) {
	t.Helper()
	p := cfg.Persistence
	for store, db := range map[string]string{p.DefaultStore: env["TEMPORAL_DB"], p.VisibilityStore: env["TEMPORAL_VISIBILITY_DB"]} {
		sql := p.Datastores[store].SQL
		if sql == nil || sql.PluginName != "postgres12" {
			t.Errorf("%s: store %q is not a PostgreSQL store: %+v", where, store, sql)
			continue
		}
		if db == "" || sql.DatabaseName != db {
			t.Errorf("%s: store %q opens database %q, want %q (what setup.sh migrates)", where, store, sql.DatabaseName, db)
		}
		if want := net.JoinHostPort(env["TEMPORAL_DB_HOST"], env["TEMPORAL_DB_PORT"]); sql.ConnectAddr != want {
			t.Errorf("%s: store %q connects to %q, want %q", where, store, sql.ConnectAddr, want)
		}
	}
	if p.NumHistoryShards < 1 {
		t.Errorf("%s: numHistoryShards %d", where, p.NumHistoryShards)
	}
	ports := map[int]string{}
	for _, svc := range []string{"frontend", "history", "matching", "worker"} {
		rpc, ok := cfg.Services[svc]
		if !ok {
			t.Errorf("%s: no %s service", where, svc)
			continue
		}
		for kind, port := range map[string]int{"grpc": rpc.RPC.GRPCPort, "membership": rpc.RPC.MembershipPort} {
			if other, taken := ports[port]; taken || port == 0 {
				t.Errorf("%s: %s %s port %d also used by %s", where, svc, kind, port, other)
			}
			ports[port] = svc + " " + kind
		}
		if rpc.RPC.BindOnIP != env["TEMPORAL_BIND_IP"] {
			t.Errorf("%s: %s binds %q, want TEMPORAL_BIND_IP %q", where, svc, rpc.RPC.BindOnIP, env["TEMPORAL_BIND_IP"])
		}
	}
}

func TestTemporal_ComposeRunsTheSharedConfig(t *testing.T) {
	p := mustLoadCompose(t, userEnv)
	abs, err := filepath.Abs(temporalDir)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]string{
		"temporal-schema":    temporalMount + "/setup.sh",
		"temporal":           "--config " + temporalMount + " --env officex start",
		"temporal-namespace": temporalMount + "/namespace.sh",
	}
	for name, want := range runs {
		svc := service(t, p, name)
		mounted := slices.ContainsFunc(svc.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Source == abs && v.Target == temporalMount && v.ReadOnly
		})
		if !mounted {
			t.Errorf("%s does not mount deploy/temporal read-only at %s: %+v", name, temporalMount, svc.Volumes)
		}
		if run := strings.Join(append(slices.Clone(svc.Entrypoint), svc.Command...), " "); !strings.Contains(run, want) {
			t.Errorf("%s runs %q, want it to run %q", name, run, want)
		}
	}
	server, schema := composeTemporalEnv(t, "temporal"), composeTemporalEnv(t, "temporal-schema")
	for k, v := range server {
		if strings.HasPrefix(k, "TEMPORAL_DB") || k == "TEMPORAL_VISIBILITY_DB" {
			if schema[k] != v {
				t.Errorf("temporal-schema has %s=%q, the server %q: it would migrate other databases", k, schema[k], v)
			}
		}
	}
}

func TestTemporal_TopologyRunsTheSharedConfig(t *testing.T) {
	script := readFile(t, topologyScript)
	for _, want := range []string{
		`TOPO_TEMPORAL_CONFIG=$TOPO_DIR/deploy/temporal`,
		`. "$TOPO_TEMPORAL_CONFIG/topology.env"`,
		`--config "$TOPO_TEMPORAL_CONFIG" --env officex`,
		`sh "$TOPO_TEMPORAL_CONFIG/setup.sh"`,
		`sh "$TOPO_TEMPORAL_CONFIG/namespace.sh"`,
		`TOPO_TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_FRONTEND_PORT`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("%s no longer has %q: does it still run deploy/temporal?", topologyScript, want)
		}
	}
}

func TestTemporal_ConfigRendersForComposeAndTopology(t *testing.T) {
	composeEnv := composeTemporalEnv(t, "temporal")
	compose := renderTemporalConfig(t, composeEnv)
	checkRendered(t, "compose", compose, composeEnv)
	if port := compose.Services["frontend"].RPC.GRPCPort; port != 7233 {
		t.Errorf("compose: frontend on %d, want 7233 (the api and worker services dial temporal:7233)", port)
	}

	topoEnv := readTopologyEnv(t)
	topo := renderTemporalConfig(t, topoEnv)
	checkRendered(t, "topology", topo, topoEnv)
	// Beside the dev server (7233) and a compose stack's databases.
	if strconv.Itoa(topo.Services["frontend"].RPC.GRPCPort) != topoEnv["TEMPORAL_FRONTEND_PORT"] {
		t.Errorf("topology: frontend on %d, want TEMPORAL_FRONTEND_PORT", topo.Services["frontend"].RPC.GRPCPort)
	}
	for _, svc := range topo.Services {
		if slices.Contains([]int{7233, 7234, 7235, 7239, 7243, 6933, 6934, 6935, 6939}, svc.RPC.GRPCPort) ||
			slices.Contains([]int{6933, 6934, 6935, 6939}, svc.RPC.MembershipPort) {
			t.Errorf("topology: port %d/%d is a default Temporal port another server may hold", svc.RPC.GRPCPort, svc.RPC.MembershipPort)
		}
	}
	if topoEnv["TEMPORAL_DB"] == composeEnv["TEMPORAL_DB"] || topoEnv["TEMPORAL_VISIBILITY_DB"] == composeEnv["TEMPORAL_VISIBILITY_DB"] {
		t.Errorf("topology uses Temporal's default database names; it must not share a server's databases")
	}
}

// TestTemporal_EverySettingIsRead catches a misspelt variable: each TEMPORAL_*
// setting compose or the topology gives is read by officex.yaml or a script.
func TestTemporal_EverySettingIsRead(t *testing.T) {
	readers := readFile(t, temporalConfig) + readFile(t, temporalDir+"/setup.sh") + readFile(t, temporalDir+"/namespace.sh")
	settings := map[string]string{}
	for _, name := range []string{"temporal", "temporal-schema", "temporal-namespace"} {
		for k := range composeTemporalEnv(t, name) {
			settings[k] = "docker-compose.yml " + name
		}
	}
	for k := range readTopologyEnv(t) {
		settings[k] = topologyEnv
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		read := regexp.MustCompile(`env "` + k + `"|\$\{?` + k + `\b`)
		if strings.HasPrefix(k, "TEMPORAL_") && !read.MatchString(readers) {
			t.Errorf("%s sets %s, which nothing in deploy/temporal reads", settings[k], k)
		}
	}
}

func TestTemporal_SearchAttributesAreTheWorkflows(t *testing.T) {
	m := regexp.MustCompile(`(?s)SEARCH_ATTRIBUTES="([^"]*)"`).FindStringSubmatch(readFile(t, temporalDir+"/namespace.sh"))
	if m == nil {
		t.Fatal("namespace.sh has no SEARCH_ATTRIBUTES")
	}
	got := map[string]string{}
	for _, entry := range strings.Fields(m[1]) {
		name, typ, _ := strings.Cut(entry, ":")
		got[name] = typ
	}
	if !maps.Equal(got, workflows.RequiredSearchAttributes) {
		t.Errorf("namespace.sh registers %v, the workflows need %v", got, workflows.RequiredSearchAttributes)
	}
}

// TestTemporal_ServerLoadsTheConfig has the pinned Temporal server itself
// load the file with both environments (render-config validates it), when
// it is built (scripts/tools.sh install temporal-server; make topology does).
func TestTemporal_ServerLoadsTheConfig(t *testing.T) {
	out, err := exec.Command("bash", "../scripts/tools.sh", "path", "temporal-server").Output()
	if err != nil {
		t.Fatal(err)
	}
	server := strings.TrimSpace(string(out))
	if _, err := os.Stat(server); err != nil {
		t.Skipf("the pinned Temporal server is not built (%s); scripts/tools.sh install temporal-server", server)
	}
	abs, err := filepath.Abs(temporalDir)
	if err != nil {
		t.Fatal(err)
	}
	for where, env := range map[string]map[string]string{"compose": composeTemporalEnv(t, "temporal"), "topology": readTopologyEnv(t)} {
		cmd := exec.Command(server, "--root", "/", "--config", abs, "--env", "officex", "render-config")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		rendered, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: the Temporal server does not load %s: %v\n%s", where, temporalConfig, err, rendered)
			continue
		}
		if !strings.Contains(string(rendered), env["TEMPORAL_VISIBILITY_DB"]) {
			t.Errorf("%s: rendered config does not name %s:\n%s", where, env["TEMPORAL_VISIBILITY_DB"], rendered)
		}
	}
}
