// The demo shop's own code: shows the point the picker handed back.
document.getElementById("relais-picker").addEventListener("relais:select", function (event) {
  document.getElementById("choice").textContent = event.detail.name + " (" + event.detail.postcode + " " + event.detail.city + ")";
});
