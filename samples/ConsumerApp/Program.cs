using ConsumerApp;

// Usage: dotnet run --project samples/ConsumerApp -- "It is a truth" [--tokens N]
// Prints what the build put into this app (the optimized models and their outlier manifests), then continues the prompt
// with the copied 4-bit GGUF through llama.cpp (LLamaSharp).
string prompt = "It is a truth";
int tokens = 200;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--tokens" && i + 1 < args.Length && int.TryParse(args[i + 1], out int n) && n > 0) tokens = n;
    else if (args[i] == "--tokens") { Console.Error.WriteLine("--tokens needs a positive number."); return 2; }
    else prompt = args[i];
    if (args[i] == "--tokens") i++;
}

var catalog = ModelCatalog.Load(AppContext.BaseDirectory, typeof(ModelCatalog).Assembly);
if (catalog.Models.Count == 0)
{
    Console.Error.WriteLine("No optimized model in this build: build the app with its <OptimizedModel> items (dotnet build samples/ConsumerApp).");
    return 1;
}

foreach (var model in catalog.Models)
{
    Console.WriteLine($"== {model.Name} ({model.Origin}) ==");
    foreach (var file in model.Files) Console.WriteLine($"   {file.Name,-44} {file.Bytes,12:N0} bytes");
    using (var manifest = model.OpenManifest())
    {
        if (manifest is null) Console.WriteLine("   (no manifest)");
        else ManifestSummary.Print(manifest, Console.Out);
    }
    Console.WriteLine();
}

var runnable = catalog.Models.FirstOrDefault(m => m.WeightsPath is not null);
if (runnable is null)
{
    Console.Error.WriteLine("No copied GGUF model to run.");
    return 1;
}
Console.WriteLine($"== generating with {Path.GetFileName(runnable.WeightsPath)} (llama.cpp via LLamaSharp) ==");
Console.Write(prompt);
await TextGenerator.GenerateAsync(runnable.WeightsPath!, prompt, tokens, Console.Out);
Console.WriteLine();
return 0;
