namespace Optimizer.Engine.Tests.Formats;

/// <summary>
/// The bounded fuzzing loop shared by the format readers' tests: each round writes a mutated copy of a valid file and
/// opens it. A round must either succeed (<c>"opened"</c>) or fail with an <see cref="OptimizerException"/> that names
/// the file and carries a code with the reader's prefix; any other exception fails the test, and so does a run that
/// does not finish in time (a mutated file made the reader hang). Returns how often each outcome occurred.
/// </summary>
internal static class MutationFuzzer
{
    public static async Task<Dictionary<string, int>> RunAsync(TempFolder temp, string extension, int rounds,
        Func<Random, byte[]> mutate, Action<string> openAndRead, string codePrefix, int seed = 20261128)
    {
        var outcomes = new Dictionary<string, int>();
        var work = Task.Run(() =>
        {
            var random = new Random(seed);
            for (int round = 0; round < rounds; round++)
            {
                byte[] mutated = mutate(random);
                string path = temp.File($"m{round % 8}{extension}");
                File.WriteAllBytes(path, mutated);
                string outcome;
                try
                {
                    openAndRead(path);
                    outcome = "opened";
                }
                catch (OptimizerException ex)
                {
                    Assert.Equal(path, ex.File);
                    Assert.StartsWith(codePrefix, ex.Code);
                    outcome = ex.Code;
                }
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }
        });
        try
        {
            await work.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            Assert.Fail("Fuzzing did not finish within 60 s: a mutated file made the reader hang.");
        }
        return outcomes;
    }
}
