namespace Optimizer.Engine.Tests.Formats;

/// <summary>Assertions on <see cref="OptimizerException"/>s: the code, the file they name, and words of the message.</summary>
internal static class FormatsAssert
{
    public static OptimizerException Fails(string code, string expectedFile, Action action, params string[] messageParts)
    {
        var ex = Assert.Throws<OptimizerException>(action);
        Assert.True(code == ex.Code, $"Expected {code} but got {ex.Code}: {ex.Message}");
        Assert.NotNull(ex.File);
        Assert.Equal(Path.GetFullPath(expectedFile), Path.GetFullPath(ex.File!));
        foreach (string part in messageParts)
            Assert.True(ex.Message.Contains(part, StringComparison.Ordinal), $"Message lacks \"{part}\": {ex.Message}");
        return ex;
    }

    public static OptimizerException Fails<T>(string code, string expectedFile, Func<T> action, params string[] messageParts) =>
        Fails(code, expectedFile, () => { action(); }, messageParts);
}
