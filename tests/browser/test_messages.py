"""Messages never cover a control: a card's message sits on the card, the page's in the flow under
the header; at desktop and phone sizes, compared by their bounding boxes."""

import pytest
from playwright.sync_api import expect

from mysfits_testkit.browser import checked_page, log_in_with_tokens

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# Every shown message and every visible control, and the pairs whose boxes overlap.
_OVERLAPS = """() => {
  const visible = (node) => node.checkVisibility() && node.getBoundingClientRect().width > 0;
  const messages = [...document.querySelectorAll(
    '.notice[data-open="true"], [data-testid=card-notice]:not(:empty), [data-testid=profile-notice]:not(:empty)'
  )].filter(visible);
  const controls = [...document.querySelectorAll('button, a[href], select, input')].filter(visible);
  const overlaps = [];
  for (const message of messages) {
    const m = message.getBoundingClientRect();
    for (const control of controls) {
      if (message.contains(control)) continue; // its own close button
      const c = control.getBoundingClientRect();
      if (m.left < c.right && c.left < m.right && m.top < c.bottom && c.top < m.bottom) {
        overlaps.push(`${message.textContent.trim()} over ${control.outerHTML.slice(0, 80)}`);
      }
    }
  }
  return { messages: messages.length, overlaps };
}"""


@pytest.fixture(params=SIZES, ids=SIZES)
def sized(browser, request):
    yield from checked_page(browser, viewport=SIZES[request.param])


def test_no_message_covers_a_control(stack, stack_pool, sized):
    page = sized
    visitor = stack_pool.sign_in()
    log_in_with_tokens(page, stack, visitor)
    card = page.locator("[data-testid=mysfit-card]").nth(6)  # one far down the page
    card.scroll_into_view_if_needed()
    page.route("**/mysfits/*/like", lambda route: route.abort("connectionrefused"))
    card.locator("[data-testid=like-button]").click()
    expect(card.locator("[data-testid=card-notice]")).to_contain_text("Could not reach")
    shown = page.evaluate(_OVERLAPS)
    assert shown["messages"] == 1
    assert shown["overlaps"] == []

    page.click("#logout-button")
    expect(page.locator("#notice")).to_contain_text("logged out")
    shown = page.evaluate(_OVERLAPS)
    assert shown["messages"] == 2  # the card's, and the page's under the header
    assert shown["overlaps"] == []
