package app

import (
	"net/http"

	"go.temporal.io/sdk/client"

	"github.com/officex/officex/activities"
	"github.com/officex/officex/api"
	"github.com/officex/officex/internal/accounts"
	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/billing"
	"github.com/officex/officex/internal/chat"
	"github.com/officex/officex/internal/mailout"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/internal/prompts"
	"github.com/officex/officex/internal/purchases"
	"github.com/officex/officex/internal/refs"
	"github.com/officex/officex/internal/schedules"
	"github.com/officex/officex/internal/vouchers"
	"github.com/officex/officex/worker"
)

// The services are built on the App's fields each time they are asked for
// (they hold no state of their own but their connections), so a copy of the
// App with another connection builds them on it.

// Billing is the billing service: reservations, sips, settles.
func (a *App) Billing() *billing.Service { return billing.New(a.Pool) }

// Apps is the apps service; uninstalls cancel open reservations through Billing.
func (a *App) Apps() *apps.Service { return a.AppsOn(a.Temporal) }

// AppsOn is Apps on Temporal client tc (one behind a proxy, say).
func (a *App) AppsOn(tc client.Client) *apps.Service {
	return apps.New(a.Pool, tc, a.Box, a.Billing(), a.AppsOptions())
}

// AppsOptions are the apps options: the configuration's URL policy and task
// queue, with production's waits unless WithAppWaits.
func (a *App) AppsOptions() apps.Options {
	opt := apps.DefaultOptions
	if a.opt.appsWaits != nil {
		opt = *a.opt.appsWaits
	}
	opt.AllowPrivateURLs, opt.TaskQueue = a.Config.AllowPrivateURLs, a.Config.TaskQueue
	return opt
}

// Accounts is the accounts service as configured (testing mode: every code
// is 0000 and no mail is queued).
func (a *App) Accounts() *accounts.Service {
	return a.AccountsWith(a.Config.TestingMode, a.throttle())
}

// AccountsWith is Accounts with another testing mode and throttle.
func (a *App) AccountsWith(testingMode bool, throttle accounts.Throttle) *accounts.Service {
	s := accounts.New(a.Pool, mailout.NewQueue(a.Box), a.Log, testingMode, throttle).WithSecrets(a.Config.EncryptionKey)
	s.OnCode = a.Metrics.ObserveCode
	return s
}

func (a *App) throttle() accounts.Throttle {
	if a.opt.throttle != nil {
		return *a.opt.throttle
	}
	return accounts.DefaultThrottle
}

// Purchases is the credit purchases service; the card lookup feeds the
// velocity limits' card fingerprints.
func (a *App) Purchases() *purchases.Service { return a.PurchasesOn(a.Temporal) }

// PurchasesOn is Purchases on Temporal client tc.
func (a *App) PurchasesOn(tc client.Client) *purchases.Service {
	return purchases.New(a.Pool, tc, a.Config.TaskQueue, a.Box, a.StripeConfigured).WithCardLookup(a.Stripe)
}

// Chats is the chat threads service.
func (a *App) Chats() *chat.Service { return chat.NewService(a.Pool, a.Config.ChatDailyTokens) }

// Agent is the chat agent of the configuration, or nil without OPENAI_API_KEY.
func (a *App) Agent() *chat.Agent {
	if a.Config.OpenAIAPIKey == "" {
		return nil
	}
	return a.NewAgent(chat.AgentConfig{APIKey: a.Config.OpenAIAPIKey, BaseURL: a.Config.OpenAIBaseURL,
		Model: a.Config.OpenAIModel, AllowPrivateURLs: a.Config.AllowPrivateURLs})
}

// NewAgent is a chat agent asking the model server of c.
func (a *App) NewAgent(c chat.AgentConfig) *chat.Agent { return chat.NewAgent(a.Chats(), a.Apps(), c) }

// Schedules is the schedules service; its Temporal Schedules run on the task
// queue, its inbox messages link threads under OFFICEX_PUBLIC_URL.
func (a *App) Schedules() *schedules.Service {
	return a.SchedulesWith(a.Temporal, schedules.Options{TaskQueue: a.Config.TaskQueue})
}

// SchedulesWith is a schedules service on client tc with opt; what opt
// leaves zero comes from the configuration and the options.
func (a *App) SchedulesWith(tc client.Client, opt schedules.Options) *schedules.Service {
	if opt.TaskQueue == "" {
		opt.TaskQueue = a.Config.TaskQueue
	}
	if opt.PublicURL == "" {
		opt.PublicURL = a.Config.PublicURL
	}
	if opt.MinInterval == 0 {
		opt.MinInterval = a.opt.schedMinInterval
	}
	if opt.RunRetryInitial == 0 {
		opt.RunRetryInitial = a.opt.schedRunRetry
	}
	return schedules.New(a.Pool, tc, a.Chats(), opt, a.Log)
}

// APIDeps are the API's dependencies.
func (a *App) APIDeps() api.Deps {
	return api.Deps{Config: a.Config, Pool: a.Pool, Temporal: a.Temporal, Log: a.Log, Metrics: a.Metrics,
		Accounts: a.Accounts(), Purchases: a.Purchases(), Vouchers: vouchers.New(a.Pool, a.Config.EncryptionKey),
		Apps: a.Apps(), Billing: a.Billing(),
		Payouts:    payouts.New(a.Pool, a.USDC != nil).WithAccounts(payouts.StripeAccounts{API: a.Stripe}),
		PayoutPoll: a.opt.payoutPoll, Uploads: a.Uploads,
		Chats: a.Chats(), Agent: a.Agent(), Prompts: prompts.New(a.Pool), Refs: refs.New(a.Pool), Schedules: a.Schedules()}
}

// Handler is the REST API.
func (a *App) Handler() http.Handler { return api.NewServer(a.APIDeps()) }

// ChatHandler is the chat stream listener.
func (a *App) ChatHandler() http.Handler { return api.NewChatHandler(a.APIDeps()) }

// WorkerDeps are the worker's dependencies.
func (a *App) WorkerDeps() worker.Deps {
	return worker.Deps{Pool: a.Pool, Stripe: a.Stripe, Box: a.Box, Apps: a.Apps(), Billing: a.Billing(),
		Payouts: payouts.New(a.Pool, a.USDC != nil), USDC: a.USDC,
		WebhookClient: activities.NewWebhookClient(a.Config.AllowPrivateURLs), Schedules: a.Schedules(),
		Agent: a.Agent(), Mail: a.Mail}
}
