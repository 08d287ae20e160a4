package deploy

import (
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const composeFile = "../docker-compose.yml"

// officexImage is the image docker-compose.yml builds from the Dockerfile;
// the services that run it are OfficeX's own.
const officexImage = "officex:local"

// designVariables are the environment variables of DESIGN.md section 8, the
// only names OfficeX's own services may be given.
var designVariables = []string{
	"DATABASE_URL",
	"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "OFFICEX_TASK_QUEUE",
	"TEMPORAL_TLS", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_API_KEY",
	"OFFICEX_HTTP_ADDR", "OFFICEX_CHAT_ADDR", "OFFICEX_METRICS_ADDR",
	"OFFICEX_ADMIN_SECRET", "OFFICEX_ENCRYPTION_KEY", "OFFICEX_ENCRYPTION_KEYS",
	"OFFICEX_TEMPORAL_CODEC_KEY", "OFFICEX_TEMPORAL_CODEC_KEYS",
	"OFFICEX_TESTING_MODE", "OFFICEX_ALLOW_PRIVATE_URLS",
	"STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET",
	"SOLANA_RPC_URL", "SOLANA_PAYER_KEYPAIR", "USDC_MINT",
	"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "OFFICEX_CHAT_DAILY_TOKENS",
	"SMTP_URL", "MAIL_FROM",
	"OFFICEX_PUBLIC_URL", "OFFICEX_UPLOAD_DIR", "OFFICEX_UPLOAD_MAX_BYTES",
	"S3_BUCKET", "S3_ENDPOINT", "S3_REGION",
	"OFFICEX_TRUSTED_PROXY_HEADER",
}

// userEnv is what the file's header tells a user to export before
// `docker compose up`; the loader sees nothing else (not the test's own
// environment, not a .env file).
var userEnv = map[string]string{
	"OFFICEX_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	"OFFICEX_ADMIN_SECRET":   "compose-test-admin-secret",
}

// loadCompose loads docker-compose.yml as `docker compose` does: schema
// validation, interpolation of ${VAR} from env, merge keys and normalization.
func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	var pairs []string
	for k, v := range env {
		pairs = append(pairs, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{composeFile},
		cli.WithName("officex"),
		cli.WithEnv(pairs),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	return cli.ProjectFromOptions(t.Context(), opts)
}

func mustLoadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	project, err := loadCompose(t, env)
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return project
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	svc, ok := p.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q (has %v)", name, p.ServiceNames())
	}
	return svc
}

func publishes(svc types.ServiceConfig, published string, target uint32) bool {
	return slices.ContainsFunc(svc.Ports, func(p types.ServicePortConfig) bool {
		return p.Published == published && p.Target == target
	})
}

func TestCompose_DefinesTheWholeStack(t *testing.T) {
	p := mustLoadCompose(t, userEnv)
	for _, name := range []string{"api", "worker", "migrate", "postgres", "temporal", "temporal-ui", "prometheus", "grafana"} {
		service(t, p, name)
	}
	if api := service(t, p, "api"); !publishes(api, "8080", 8080) || !publishes(api, "8081", 8081) {
		t.Errorf("api publishes %+v, want 8080:8080 (REST) and 8081:8081 (chat)", api.Ports)
	}
	if ui := service(t, p, "temporal-ui"); !publishes(ui, "8233", 8080) {
		t.Errorf("temporal-ui publishes %+v, want 8233:8080", ui.Ports)
	}
	for name, command := range map[string]string{"api": "serve", "worker": "worker", "migrate": "migrate"} {
		svc := service(t, p, name)
		if svc.Image != officexImage || svc.Build == nil {
			t.Errorf("%s: image %q built=%v, want the officex image built from the Dockerfile", name, svc.Image, svc.Build != nil)
		}
		if !slices.Equal(svc.Command, types.ShellCommand{command}) {
			t.Errorf("%s runs %q, want officex %s", name, svc.Command, command)
		}
	}
}

func TestCompose_OfficeXServicesSetOnlyDesignVariables(t *testing.T) {
	p := mustLoadCompose(t, userEnv)
	var officex []string
	for name, svc := range p.Services {
		if svc.Image != officexImage {
			continue // postgres and Temporal's images take their own variables
		}
		officex = append(officex, name)
		for variable := range svc.Environment {
			if !slices.Contains(designVariables, variable) {
				t.Errorf("%s sets %s, which DESIGN.md section 8 does not define", name, variable)
			}
		}
		for variable, want := range userEnv {
			if got := svc.Environment[variable]; got == nil || *got != want {
				t.Errorf("%s: %s is not passed through from the user's environment", name, variable)
			}
		}
		if got := svc.Environment["OFFICEX_TESTING_MODE"]; got == nil || *got != "true" {
			t.Errorf("%s: OFFICEX_TESTING_MODE defaults to %v, want true", name, got)
		}
	}
	slices.Sort(officex)
	if !slices.Equal(officex, []string{"api", "migrate", "worker"}) {
		t.Errorf("services running %s: %v, want api, migrate, worker", officexImage, officex)
	}
}

func TestCompose_UserEnvironmentWinsOverDefaults(t *testing.T) {
	env := map[string]string{"OFFICEX_TESTING_MODE": "false", "SMTP_URL": "smtp://mail.example:587"}
	for k, v := range userEnv {
		env[k] = v
	}
	api := service(t, mustLoadCompose(t, env), "api")
	for variable, want := range map[string]string{"OFFICEX_TESTING_MODE": "false", "SMTP_URL": "smtp://mail.example:587"} {
		if got := api.Environment[variable]; got == nil || *got != want {
			t.Errorf("api: %s = %v, want the user's %q", variable, got, want)
		}
	}
}

func TestCompose_RefusesToStartWithoutSecrets(t *testing.T) {
	for missing := range userEnv {
		env := map[string]string{}
		for k, v := range userEnv {
			if k != missing {
				env[k] = v
			}
		}
		_, err := loadCompose(t, env)
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s: error %v, want one naming %s", missing, err, missing)
		}
	}
}

func TestCompose_StartsServicesInOrder(t *testing.T) {
	p := mustLoadCompose(t, userEnv)
	waits := []struct{ service, on, condition string }{
		{"migrate", "postgres", types.ServiceConditionHealthy},
		{"temporal", "temporal-schema", types.ServiceConditionCompletedSuccessfully},
		{"temporal-ui", "temporal", types.ServiceConditionHealthy},
		{"api", "migrate", types.ServiceConditionCompletedSuccessfully},
		{"api", "temporal-namespace", types.ServiceConditionCompletedSuccessfully},
		{"worker", "migrate", types.ServiceConditionCompletedSuccessfully},
		{"worker", "temporal-namespace", types.ServiceConditionCompletedSuccessfully},
	}
	for _, w := range waits {
		dep, ok := service(t, p, w.service).DependsOn[w.on]
		if !ok || dep.Condition != w.condition {
			t.Errorf("%s should wait for %s to be %s; depends_on has %+v", w.service, w.on, w.condition, dep)
		}
	}
	for _, name := range []string{"postgres", "temporal", "api"} {
		if hc := service(t, p, name).HealthCheck; hc == nil || hc.Disable || len(hc.Test) == 0 {
			t.Errorf("%s has no healthcheck, so nothing can wait for it to be ready", name)
		}
	}
}
