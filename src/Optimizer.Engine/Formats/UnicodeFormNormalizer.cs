using System.Text;
using Microsoft.ML.Tokenizers;

namespace Optimizer.Engine.Formats;

/// <summary>A tokenizer normalizer that applies one Unicode normalization form (e.g. NFC, as Qwen2's tokenizer does).</summary>
internal sealed class UnicodeFormNormalizer : Normalizer
{
    private readonly NormalizationForm _form;

    public UnicodeFormNormalizer(NormalizationForm form) => _form = form;

    public override string Normalize(string original) => original.Normalize(_form);

    public override string Normalize(ReadOnlySpan<char> original) => original.ToString().Normalize(_form);
}
