package chat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/officex/officex/internal/apps"
	"github.com/officex/officex/internal/safehttp"
)

// AgentConfig is how the agent reaches the model and app APIs.
type AgentConfig struct {
	APIKey  string
	BaseURL string // empty: OpenAI's
	Model   string // empty: DefaultModel
	// AllowPrivateURLs lets http_request reach loopback and private
	// addresses (make dev and tests only).
	AllowPrivateURLs bool
}

// Agent answers a user's turn: the model, the tools, the saved messages.
type Agent struct {
	chats *Service
	apps  *apps.Service
	llm   openai.Client
	model string
	web   *http.Client // app API calls: safehttp, no redirects
}

// NewAgent makes an Agent. The model client never retries by itself: the
// stream answers the error at once, and a scheduled run's activity retries
// the whole turn with Temporal's backoff.
func NewAgent(chats *Service, appSvc *apps.Service, c AgentConfig) *Agent {
	opts := []option.RequestOption{option.WithAPIKey(c.APIKey), option.WithMaxRetries(0)}
	if c.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(c.BaseURL))
	}
	model := c.Model
	if model == "" {
		model = DefaultModel
	}
	return &Agent{chats: chats, apps: appSvc, llm: openai.NewClient(opts...), model: model,
		web: safehttp.New(safehttp.Options{AllowPrivate: c.AllowPrivateURLs, Timeout: ToolRequestTimeout})}
}

// Prepared is a turn checked and ready to run: its apps loaded, the budget
// not yet spent. The stream prepares before it answers, so a bad request is
// still a plain JSON error.
type Prepared struct {
	turn    Turn
	apps    []appSkill // included, in prompt order
	skills  *skillIndex
	masker  *secrets
	history []openai.ChatCompletionMessageParamUnion
}

// Prepare checks turn and loads what the agent will know about the user's apps.
func (a *Agent) Prepare(ctx context.Context, turn Turn) (*Prepared, error) {
	if strings.TrimSpace(turn.Prompt) == "" {
		return nil, invalidf("the last message must be the user's and not empty")
	}
	if utf8.RuneCountInString(turn.Prompt) > MaxMessageLen || utf8.RuneCountInString(turn.SystemPrompt) > MaxSystemPromptLen {
		return nil, invalidf("a message is at most %d characters, system_prompt at most %d", MaxMessageLen, MaxSystemPromptLen)
	}
	if err := a.chats.CheckBudget(ctx, turn.UserID); err != nil {
		return nil, err
	}
	idx, err := a.loadSkills(ctx, turn.UserID)
	if err != nil {
		return nil, err
	}
	included, err := idx.include(turn.IncludeApps)
	if err != nil {
		return nil, err
	}
	p := &Prepared{turn: turn, apps: included, skills: idx, masker: newSecrets(included)}
	p.history = append(p.history, openai.SystemMessage(systemPrompt(turn.SystemPrompt, included)))
	for _, m := range turn.History {
		switch m.Role {
		case RoleUser:
			p.history = append(p.history, openai.UserMessage(m.Content))
		case RoleAssistant:
			p.history = append(p.history, openai.AssistantMessage(m.Content))
		default:
			return nil, invalidf("messages: role must be user or assistant")
		}
	}
	return p, nil
}

// InThread sets the thread the turn's messages are saved in.
func (p *Prepared) InThread(id uuid.UUID) { p.turn.ThreadID = id }

// RunTurn prepares and runs turn (what a scheduled run calls).
func (a *Agent) RunTurn(ctx context.Context, turn Turn, sink Sink) (TurnResult, error) {
	p, err := a.Prepare(ctx, turn)
	if err != nil {
		return TurnResult{}, err
	}
	return a.Run(ctx, p, sink)
}

// Run answers a prepared turn. Every message is saved as it completes; when
// ctx ends (the client went away) the partial reply is saved and Run returns
// ctx's error with what it has. Over a cap it answers with what it has and
// says why, without an error.
func (a *Agent) Run(ctx context.Context, p *Prepared, sink Sink) (TurnResult, error) {
	t := p.turn
	if _, err := a.chats.SaveMessage(ctx, Message{ThreadID: t.ThreadID, Role: RoleUser, Content: t.Prompt}); err != nil {
		return TurnResult{}, err
	}
	turnCtx, cancel := context.WithTimeout(ctx, TurnTimeout)
	defer cancel()
	msgs := append(p.history, openai.UserMessage(t.Prompt))
	var res TurnResult
	for round := 0; ; round++ {
		sink.Status(StatusThinking, "")
		reply, err := a.complete(turnCtx, msgs, p.masker, sink)
		res.Usage.InputTokens += reply.usage.InputTokens
		res.Usage.OutputTokens += reply.usage.OutputTokens
		if uerr := a.chats.addUsage(ctx, t.UserID, reply.usage); uerr != nil && err == nil {
			err = uerr
		}
		stop := ""
		switch {
		case ctx.Err() != nil:
			stop, err = FinishCancelled, ctx.Err()
		case turnCtx.Err() != nil:
			stop, err = FinishTimeLimit, nil
			reply.text += p.masker.note(sink, fmt.Sprintf("I stopped here: a turn may take at most %s.", TurnTimeout))
		case err != nil:
			// The model failed: keep what it said, report the error.
		case len(reply.calls) == 0:
			stop = reply.finish
		case round == MaxToolRounds:
			stop = FinishToolRounds
			reply.text += p.masker.note(sink, fmt.Sprintf("I stopped here: a turn may use at most %d rounds of tool calls.", MaxToolRounds))
		}
		if err != nil || stop != "" {
			res.FinishReason, res.Text = stop, reply.text
			if reply.text != "" || err == nil {
				saved, serr := a.chats.SaveMessage(ctx, Message{ThreadID: t.ThreadID, Role: RoleAssistant, Content: reply.text, Usage: &reply.usage})
				if serr != nil && err == nil {
					err = serr
				}
				res.MessageID = saved.ID
			}
			return res, err
		}
		msgs, err = a.runTools(turnCtx, p, msgs, reply, sink)
		if err != nil {
			return res, err
		}
	}
}

// runTools saves the assistant's tool calls, runs each and saves its result,
// and returns the conversation with both appended.
func (a *Agent) runTools(ctx context.Context, p *Prepared, msgs []openai.ChatCompletionMessageParamUnion, reply modelReply, sink Sink) ([]openai.ChatCompletionMessageParamUnion, error) {
	t := p.turn
	if _, err := a.chats.SaveMessage(ctx, Message{ThreadID: t.ThreadID, Role: RoleAssistant, Content: reply.text,
		ToolCalls: reply.calls, Usage: &reply.usage}); err != nil {
		return nil, err
	}
	msgs = append(msgs, assistantWithCalls(reply.text, reply.calls))
	for _, c := range reply.calls {
		sink.ToolCall(c)
		sink.Status(StatusTool, c.Name)
		out := a.runTool(ctx, p, c)
		content := p.masker.mask(out.content)
		sink.ToolResult(c.ID, c.Name, out.ok, p.masker.mask(out.summary))
		if _, err := a.chats.SaveMessage(ctx, Message{ThreadID: t.ThreadID, Role: RoleTool, Content: content, ToolCallID: c.ID}); err != nil {
			return nil, err
		}
		msgs = append(msgs, openai.ToolMessage(content, c.ID))
	}
	return msgs, nil
}

func assistantWithCalls(text string, calls []ToolCall) openai.ChatCompletionMessageParamUnion {
	m := openai.ChatCompletionAssistantMessageParam{}
	if text != "" {
		m.Content.OfString = openai.String(text)
	}
	for _, c := range calls {
		m.ToolCalls = append(m.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
			OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: c.ID,
				Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: c.Name, Arguments: c.Arguments}}})
	}
	return openai.ChatCompletionMessageParamUnion{OfAssistant: &m}
}

// modelReply is one streamed model answer.
type modelReply struct {
	text   string // masked, as streamed
	calls  []ToolCall
	finish string
	usage  Usage
}

// MaxToolCallsPerReply bounds the tool calls of one model answer.
const MaxToolCallsPerReply = 16

// complete streams one model answer: text deltas go to sink (masked), tool
// calls are assembled from their fragments by index.
func (a *Agent) complete(ctx context.Context, msgs []openai.ChatCompletionMessageParamUnion, mask *secrets, sink Sink) (modelReply, error) {
	stream := a.llm.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model: a.model, Messages: msgs, Tools: tools(),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	defer stream.Close()
	var out modelReply
	var text strings.Builder
	emit := mask.stream(func(s string) { text.WriteString(s); sink.TextDelta(s) })
	calls := map[int64]*ToolCall{}
	var order []int64
	for stream.Next() {
		chunk := stream.Current()
		if chunk.JSON.Usage.Valid() {
			out.usage = Usage{InputTokens: chunk.Usage.PromptTokens, OutputTokens: chunk.Usage.CompletionTokens}
		}
		for _, ch := range chunk.Choices {
			if ch.FinishReason != "" {
				out.finish = ch.FinishReason
			}
			emit.write(ch.Delta.Content)
			for _, d := range ch.Delta.ToolCalls {
				c, seen := calls[d.Index]
				if !seen {
					if len(order) == MaxToolCallsPerReply {
						continue
					}
					c = &ToolCall{}
					calls[d.Index] = c
					order = append(order, d.Index)
				}
				c.ID += d.ID
				c.Name += d.Function.Name
				c.Arguments += d.Function.Arguments
			}
		}
	}
	emit.flush()
	out.text = text.String()
	for _, i := range order {
		c := calls[i]
		if c.ID == "" {
			c.ID = "call_" + uuid.NewString()
		}
		out.calls = append(out.calls, *c)
	}
	if err := stream.Err(); err != nil {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		return out, fmt.Errorf("%w: %s", ErrModel, modelError(err))
	}
	return out, nil
}

// modelError says what went wrong with the model without echoing its whole
// answer (which may be long).
func modelError(err error) string {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		return fmt.Sprintf("the model server answered %d", apiErr.StatusCode)
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}
