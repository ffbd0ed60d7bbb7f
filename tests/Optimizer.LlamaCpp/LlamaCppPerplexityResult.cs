namespace Optimizer.LlamaCpp;

/// <summary>llama.cpp's perplexity over a text: exp(mean NLL), the mean NLL (nats/token), scored tokens and windows.</summary>
public sealed record LlamaCppPerplexityResult(double Perplexity, double MeanNll, long TokensScored, int Windows);
