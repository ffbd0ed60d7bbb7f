Console.WriteLine("ConsumerApp: the <OptimizedModel> build integration is not wired in yet.");
