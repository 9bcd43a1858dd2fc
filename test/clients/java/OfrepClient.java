// Ripcord through OpenFeature's official Java OFREP provider, for the integration test.
//
// Usage: java -cp '<lib>/*' OfrepClient.java BASE_URL FLAGS_JSON, with the token in RIPCORD_TOKEN.
// FLAGS_JSON names the flags {boolean, string, integer, float, object, unknown, killed}. Prints one
// JSON line of results, then waits for a line on stdin (the test kills a flag meanwhile) and prints
// the killed flag as seen then, with the same client.

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.openfeature.contrib.providers.ofrep.OfrepProvider;
import dev.openfeature.contrib.providers.ofrep.OfrepProviderOptions;
import dev.openfeature.sdk.Client;
import dev.openfeature.sdk.FlagEvaluationDetails;
import dev.openfeature.sdk.ImmutableContext;
import dev.openfeature.sdk.OpenFeatureAPI;
import dev.openfeature.sdk.Value;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

public class OfrepClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Map<String, Object> details(FlagEvaluationDetails<?> result) {
    Map<String, Object> out = new LinkedHashMap<>();
    Object value = result.getValue();
    out.put("value", value instanceof Value v ? (v.isStructure() ? v.asStructure().asObjectMap() : v.asObject()) : value);
    out.put("reason", result.getReason());
    out.put("variant", result.getVariant());
    out.put("errorCode", result.getErrorCode() == null ? null : result.getErrorCode().name());
    out.put("errorMessage", result.getErrorMessage());
    return out;
  }

  public static void main(String[] args) throws Exception {
    String baseUrl = args[0];
    Map<String, String> flags = JSON.readValue(args[1], JSON.getTypeFactory().constructMapType(Map.class, String.class, String.class));
    String token = System.getenv("RIPCORD_TOKEN");
    OfrepProviderOptions options = OfrepProviderOptions.builder()
        .baseUrl(baseUrl)
        .headers(ImmutableMap.of("Authorization", ImmutableList.of("Bearer " + token)))
        .requestTimeout(Duration.ofSeconds(5))
        .build();
    OpenFeatureAPI api = OpenFeatureAPI.getInstance();
    api.setProviderAndWait(OfrepProvider.constructProvider(options));
    Client client = api.getClient();
    ImmutableContext context = new ImmutableContext("java-user-1", Map.of("plan", new Value("pro")));

    Map<String, Object> results = new LinkedHashMap<>();
    results.put("provider", api.getProviderMetadata().getName());
    results.put("boolean", details(client.getBooleanDetails(flags.get("boolean"), false, context)));
    results.put("string", details(client.getStringDetails(flags.get("string"), "fallback", context)));
    results.put("integer", details(client.getIntegerDetails(flags.get("integer"), -1, context)));
    results.put("float", details(client.getDoubleDetails(flags.get("float"), -1.0, context)));
    results.put("object", details(client.getObjectDetails(flags.get("object"), new Value(), context)));
    results.put("unknown", details(client.getBooleanDetails(flags.get("unknown"), true, context)));
    // A boolean flag read as a string: the provider's type check.
    results.put("mismatch", details(client.getStringDetails(flags.get("boolean"), "fallback", context)));
    results.put("beforeKill", details(client.getBooleanDetails(flags.get("killed"), false, context)));
    System.out.println(JSON.writeValueAsString(results));
    System.out.flush();

    new BufferedReader(new InputStreamReader(System.in)).readLine();
    System.out.println(JSON.writeValueAsString(Map.of("afterKill", details(client.getBooleanDetails(flags.get("killed"), false, context)))));
    System.out.flush();
    api.shutdown();
  }
}
